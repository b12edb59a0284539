"""Where a hostile input goes on each HTTP listener: a route that reads a body, and one that
answers 200 to a plain GET."""
from __future__ import annotations

from .context import IMAGE_MODEL

BODY_PATHS = {"http": "/v2/models/simple/infer", "tfserving": "/v1/models/simple:predict",
              "torchserve": f"/predictions/{IMAGE_MODEL}", "torchserve-management": "/models",
              "metrics": "/metrics"}
OK_PATHS = {"http": "/v2/health/live", "tfserving": "/v1/models/simple", "torchserve": "/ping",
            "torchserve-management": "/models", "metrics": "/metrics"}
