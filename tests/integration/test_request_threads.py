"""Which threads answer a tiny model's requests: Swift's tasks run on the HTTP event loops
(NIO's singleton group is Swift's global executor), so a request read by an event loop is answered
there, the fast model's inline run included, and Dispatch's cooperative pool does no request work.

Per-thread CPU time from /proc/<pid>/task/<tid>/stat over a run of sequential requests.
"""
from __future__ import annotations

import os
from pathlib import Path

import requests

REQUESTS = 1500


def thread_cpu_ticks(pid: int) -> dict[int, tuple[str, int]]:
    """tid -> (name, user + system clock ticks) for every thread of `pid`."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread exited meanwhile
        threads[int(task.name)] = (name, int(fields[11]) + int(fields[12]))
    return threads


def test_event_loops_answer_tiny_requests(start_server, repos):
    server = start_server(repos["main"], "request-threads")
    assert "Swift tasks run on the" in server.log_text(), server.log_tail()
    body = {"inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32", "data": [0.25] * 16}]}
    url = f"{server.url}/v2/models/dense_tiny/infer"
    with requests.Session() as session:
        for _ in range(20):  # the pool learns the model is fast
            assert session.post(url, json=body, timeout=10).status_code == 200
        before = thread_cpu_ticks(server.process.pid)
        for _ in range(REQUESTS):
            response = session.post(url, json=body, timeout=10)
            assert response.status_code == 200, response.text[:300]
        after = thread_cpu_ticks(server.process.pid)
    gained: dict[str, int] = {}
    for tid, (name, ticks) in after.items():
        kind = ("event loop" if name.startswith("NIO-SGLTN") else
                "dispatch" if name.endswith("qos") or "qos." in name else name)
        gained[kind] = gained.get(kind, 0) + ticks - before.get(tid, (name, 0))[1]
    total = sum(gained.values())
    tick = os.sysconf("SC_CLK_TCK")
    assert total >= 20, f"too little CPU time to tell ({total} ticks of 1/{tick} s): {gained}"
    assert gained.get("event loop", 0) >= 0.6 * total, f"the event loops did not do the request work: {gained}"
    assert gained.get("dispatch", 0) <= 0.1 * total, f"Dispatch's threads did request work: {gained}"
