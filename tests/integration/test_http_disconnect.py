"""HTTP clients that disconnect while their request waits in the queue (issue 6): the request is
dropped before it runs, as a cancelled gRPC call is, instead of occupying the model for a client
that is gone (Triton runs them all). Uses the `slow` model (a few hundred ms per run) of the
shared gRPC server, which also serves HTTP."""
from __future__ import annotations

import json
import socket
import time

import requests

from support import wait_until_settled
from test_grpc import GRPCServer, grpc_repo, grpc_server  # noqa: F401  (shared fixtures)

BODY = json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}).encode()


def stats(server) -> dict:
    r = requests.get(f"{server.url}/v2/models/slow/stats", timeout=10)
    r.raise_for_status()
    s = r.json()["model_stats"][0]
    return {"executions": s["execution_count"], "success": s["inference_stats"]["success"]["count"],
            "fail": s["inference_stats"]["fail"]["count"],
            "compute_s": s["inference_stats"]["compute_infer"]["ns"] / max(s["inference_stats"]["compute_infer"]["count"], 1) / 1e9}


def settled(server, timeout: float = 60.0) -> dict:
    """The statistics once they have not changed for 2 s (longer than one execution)."""
    return wait_until_settled(lambda: stats(server), lambda now: (now["executions"], now["success"], now["fail"]), timeout)


def send_infer(port: int) -> socket.socket:
    """A whole KServe v2 JSON request on its own connection; the answer is never read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /v2/models/slow/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
    return sock


def test_disconnected_http_clients_leave_no_queued_work(grpc_server):
    server = grpc_server
    requests.post(f"{server.url}/v2/models/slow/infer", data=BODY, timeout=60).raise_for_status()  # warm
    for round_ in range(2):
        start = settled(server)
        sockets = [send_infer(server.port) for _ in range(20)]
        time.sleep(1.0)  # they reach the server: one runs, the others wait in the queue
        at_close = stats(server)
        for sock in sockets:
            sock.close()
        end = settled(server)
        reached = end["success"] + end["fail"] - start["success"] - start["fail"]
        ran_after_close = end["executions"] - at_close["executions"]
        # Requests the server had not read yet never reach the model at all; most had been read.
        assert reached >= 10, f"round {round_}: only {reached} of 20 requests reached the model"
        # Only the execution under way at the close (and one racing it) finishes.
        assert ran_after_close <= 2, (
            f"round {round_}: {ran_after_close} executions after every client had disconnected: the queue kept them")
        assert end["fail"] - start["fail"] >= reached - (end["executions"] - start["executions"]), (start, end)

    # Nothing is left queued: a new request is answered in about one execution's time.
    began = time.monotonic()
    r = requests.post(f"{server.url}/v2/models/slow/infer", data=BODY, timeout=60)
    assert r.status_code == 200, r.text
    assert time.monotonic() - began < max(4 * end["compute_s"], 2.0)
    assert server.alive()


def test_a_request_sent_with_the_close_never_runs(grpc_server):
    """A client that sends its request and closes at once (its bytes and the close arrive
    together, before the handler runs) is gone before its request is queued: it must not run."""
    server = grpc_server
    import threading
    busy = threading.Thread(target=lambda: requests.post(f"{server.url}/v2/models/slow/infer", data=BODY, timeout=60))
    start = settled(server)
    busy.start()
    time.sleep(0.3)  # the model is busy with that one
    for _ in range(10):
        send_infer(server.port).close()
    busy.join(60)
    end = settled(server)
    ran = end["executions"] - start["executions"]
    assert ran <= 2, f"{ran} executions: requests whose client had closed ran"
