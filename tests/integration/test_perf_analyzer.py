"""perf_analyzer (the binary in tritonclient 2.48's wheel) over HTTP against every bundled example
model, `--concurrency-range 1:8`, with random and with zero input data: it must exit 0, report a
throughput for each of the 8 concurrencies, and the server's statistics must count at least every
request perf_analyzer reports as a success and not one as a failure.

Kept short (about 3 s a run): 100 ms measurement windows, at most 3 trials per concurrency, and
a stability threshold so wide that 3 windows always suffice. The point is compatibility (model
metadata and config as perf_analyzer reads them, binary tensors, keep-alive under concurrency),
not speed."""
from __future__ import annotations

import pytest

from support import model_statistics, perf_analyzer_requests, perf_analyzer_throughputs, run_perf_analyzer

# Every model of scripts/make_example_repo.py. simple_string's model parses its strings as
# decimal integers, and perf_analyzer's random (and zero) strings are not: it is driven with
# --string-data 7. logreg_iris's second output is a sequence of maps, which the server leaves out
# of its metadata, so perf_analyzer sees (and reads) only the label output.
MODELS = {
    "simple": [], "dense_tiny": [], "simple_string": ["--string-data", "7"], "identity_string": [],
    "sigmoid": [], "mul_1": [], "logreg_iris": [],
}


def request_counts(server, model: str) -> tuple[int, int]:
    """(successful, failed) requests of `model`, from the statistics extension."""
    stats = model_statistics(server, model)["inference_stats"]
    return stats["success"]["count"], stats["fail"]["count"]


def perf_analyzer_over_http(server, model: str, *extra: str) -> str:
    return run_perf_analyzer("-m", model, "-i", "http", "-u", server.address,
                             "--concurrency-range", "1:8", "--measurement-interval", "100", "--max-trials", "3",
                             "--stability-percentage", "1000", *MODELS[model], *extra)


@pytest.mark.parametrize("data", ["random", "zero"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_perf_analyzer_drives_every_example_model(server, model, data):
    succeeded_before, failed_before = request_counts(server, model)
    output = perf_analyzer_over_http(server, model, *(["--input-data", "zero"] if data == "zero" else []))
    results = perf_analyzer_throughputs(output)
    assert sorted(results) == list(range(1, 9)), f"no throughput for every concurrency 1..8:\n{output[-3000:]}"
    assert all(t > 0 for t in results.values()), results
    succeeded, failed = request_counts(server, model)
    # The server counted at least every request perf_analyzer reports (its warm-up and discarded
    # trials come on top), and not one failure.
    sent = perf_analyzer_requests(output)
    assert sent >= 8, f"perf_analyzer reports {sent} requests:\n{output[-3000:]}"
    assert succeeded - succeeded_before >= sent, f"server counted {succeeded - succeeded_before} successes, perf_analyzer sent {sent}"
    assert failed == failed_before, f"the server counted {failed - failed_before} failed requests during the run"


def test_perf_analyzer_with_json_tensors(server):
    output = perf_analyzer_over_http(server, "dense_tiny", "--input-tensor-format", "json",
                                     "--output-tensor-format", "json")
    assert sorted(perf_analyzer_throughputs(output)) == list(range(1, 9)), output[-3000:]
