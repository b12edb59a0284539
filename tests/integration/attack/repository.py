"""The attacked repository: the integration suite's main repository (examples, an identity model
per datatype, multi-input models), the EfficientNet-Lite0 classifier, and `churn_mul` (a copy of
mul_1) that only the soak's load/unload client touches."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import model_factory

from .context import IMAGE_MODEL

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHURN_MODEL = "churn_mul"


def build_classifier(out: Path) -> Path:
    """Runs scripts/make_classifier.py (Debian's python3, as the suite's fixture does) into `out`."""
    script = PROJECT_ROOT / "scripts" / "make_classifier.py"
    subprocess.run(["/usr/bin/python3", str(script), str(out)], check=True, capture_output=True, timeout=600)
    return out


def make_repository(root: Path, main: Path | None = None, classifier: Path | None = None) -> Path:
    """Writes the repository under root/models from existing main / classifier repositories when
    given, else generates them; returns its path."""
    repo = root / "models"
    if main:
        shutil.copytree(main, repo)
    else:
        model_factory.make_main_repo(repo)
    source = classifier or build_classifier(root / "classifier")
    shutil.copytree(source / IMAGE_MODEL, repo / IMAGE_MODEL)
    shutil.copytree(repo / "mul_1", repo / CHURN_MODEL)
    return repo
