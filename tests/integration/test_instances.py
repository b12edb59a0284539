"""Several instances of one model run requests at the same time (issue 6), seen the way a Triton
user sees it: in the statistics extension. With `instance_group [ { count: 2 } ]` and four
concurrent requests on the slow model, the executions' compute time adds up to clearly more than
the wall time they took, which only overlapping executions can do; with one instance it cannot,
and comes close to it."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import model_factory
from support import model_statistics, slow_body


def make_repo(root, count: int):
    model_factory.save(root, "slow", model_factory.slow(steps=100))
    (root / "slow" / "config.pbtxt").write_text(
        f'max_batch_size: 0\ninstance_group [ {{ count: {count} kind: KIND_CPU }} ]\n')
    return root


def compute_and_wall(server, requests_at_once: int = 4) -> tuple[float, float, int]:
    """Sends `requests_at_once` requests together; returns (the executions' summed compute time,
    the wall time from the first send to the last answer, executions), from the statistics."""
    url = f"{server.url}/v2/models/slow"
    requests.post(f"{url}/infer", json=slow_body(), timeout=60).raise_for_status()  # warm: timings settle

    def stats():
        s = model_statistics(server, "slow")
        return s["inference_stats"]["compute_infer"]["ns"] / 1e9, s["execution_count"]

    compute_before, executions_before = stats()
    with ThreadPoolExecutor(requests_at_once) as pool:
        began = time.monotonic()
        answers = list(pool.map(lambda _: requests.post(f"{url}/infer", json=slow_body(), timeout=120),
                                range(requests_at_once)))
        wall = time.monotonic() - began
    assert all(a.status_code == 200 for a in answers), [a.text[:200] for a in answers]
    compute_after, executions_after = stats()
    return compute_after - compute_before, wall, executions_after - executions_before


@pytest.mark.parametrize("count", [1, 2])
def test_instances_overlap_in_the_statistics(tmp_path, start_server, count):
    server = start_server(make_repo(tmp_path / "models", count), f"instances-{count}",
                          ("--intra-op-threads", "1"))
    try:
        config = requests.get(f"{server.url}/v2/models/slow/config", timeout=10).json()
        assert sum(g.get("count", 1) for g in config["instance_group"]) == count, config["instance_group"]
        compute, wall, executions = compute_and_wall(server)
        print(f"instances {count}: compute {compute:.3f} s, wall {wall:.3f} s")
        assert executions == 4
        if count == 2:
            # Two executions at a time: about twice the wall time in compute.
            assert compute > 1.4 * wall, f"compute {compute:.3f} s in {wall:.3f} s of wall time: no overlap"
        else:
            # One at a time: the compute time cannot exceed the wall time, and the instance is busy
            # for nearly all of it (a server that timed nothing would say 0).
            assert 0.75 * wall <= compute <= 1.05 * wall, f"compute {compute:.3f} s in {wall:.3f} s with one instance"
    finally:
        server.stop_and_check()
