"""perf_analyzer (the binary in tritonclient 2.48's wheel) over HTTP against every bundled example
model, `--concurrency-range 1:8`, with random and with zero input data: it must exit 0, report a
throughput for each of the 8 concurrencies, and the server must count no failed request.

Kept short (about 3 s a run): 100 ms measurement windows, at most 3 trials per concurrency, and
a stability threshold so wide that 3 windows always suffice. The point is compatibility (model
metadata and config as perf_analyzer reads them, binary tensors, keep-alive under concurrency),
not speed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from support import PROJECT_ROOT

# Every model of scripts/make_example_repo.py. simple_string's model parses its strings as
# decimal integers, and perf_analyzer's random (and zero) strings are not: it is driven with
# --string-data 7. logreg_iris's second output is a sequence of maps, which the server leaves out
# of its metadata, so perf_analyzer sees (and reads) only the label output.
MODELS = {
    "simple": [], "dense_tiny": [], "simple_string": ["--string-data", "7"], "identity_string": [],
    "sigmoid": [], "mul_1": [], "logreg_iris": [],
}
THROUGHPUT = re.compile(r"^Concurrency: (\d+), throughput: ([0-9.]+) infer/sec, latency (\d+) usec$", re.M)


def perf_analyzer() -> Path:
    for candidate in (PROJECT_ROOT / ".venv" / "bin" / "perf_analyzer",):
        if candidate.exists():
            return candidate
    found = shutil.which("perf_analyzer")
    if found is None:
        pytest.fail("perf_analyzer not found: it ships in the tritonclient wheel (see `make setup`)")
    return Path(found)


def perf_env() -> dict:
    """perf_analyzer links libcudart even for CPU-only runs; the nvidia-cuda-runtime wheel has it."""
    import nvidia.cuda_runtime
    cuda_lib = Path(list(nvidia.cuda_runtime.__path__)[0]) / "lib"
    return dict(os.environ, LD_LIBRARY_PATH=f"{cuda_lib}:{os.environ.get('LD_LIBRARY_PATH', '')}")


def failures(server, model: str) -> int:
    response = requests.get(f"{server.url}/v2/models/{model}/stats", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["model_stats"][0]["inference_stats"]["fail"]["count"]


def run_perf_analyzer(server, model: str, *extra: str) -> str:
    command = [str(perf_analyzer()), "-m", model, "-i", "http", "-u", server.address,
               "--concurrency-range", "1:8", "--measurement-interval", "100", "--max-trials", "3",
               "--stability-percentage", "1000", *MODELS[model], *extra]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, env=perf_env())
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"perf_analyzer exited {run.returncode}:\n$ {' '.join(command)}\n{output[-3000:]}"
    return output


@pytest.mark.parametrize("data", ["random", "zero"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_perf_analyzer_drives_every_example_model(server, model, data):
    failed_before = failures(server, model)
    output = run_perf_analyzer(server, model, *(["--input-data", "zero"] if data == "zero" else []))
    results = {int(c): float(t) for c, t, _ in THROUGHPUT.findall(output)}
    assert sorted(results) == list(range(1, 9)), f"no throughput for every concurrency 1..8:\n{output[-3000:]}"
    assert all(t > 0 for t in results.values()), results
    assert not re.search(r"\berror\b|failed", output, re.I), output[-3000:]
    assert failures(server, model) == failed_before, "the server counted failed requests during the run"


def test_perf_analyzer_with_json_tensors(server):
    output = run_perf_analyzer(server, "dense_tiny", "--input-tensor-format", "json", "--output-tensor-format", "json")
    assert len(THROUGHPUT.findall(output)) == 8, output[-3000:]
