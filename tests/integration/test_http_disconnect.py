"""HTTP clients that disconnect while their request waits in the queue (issue 6): the request is
dropped before it runs, as a cancelled gRPC call is, instead of occupying the model for a client
that is gone (Triton runs them all). Uses the `slow` model (a few hundred ms per run) of the
shared gRPC server, which also serves HTTP."""
from __future__ import annotations

import json
import socket
import time

import requests

from support import model_statistics, slow_body, wait_until_settled
from test_grpc import GRPCServer, grpc_repo, grpc_server  # noqa: F401  (shared fixtures)

BODY = json.dumps(slow_body()).encode()


def stats(server) -> dict:
    s = model_statistics(server, "slow")
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
    idle = settled(server)
    requests.post(f"{server.url}/v2/models/slow/infer", data=BODY, timeout=60).raise_for_status()  # warm
    # The execution counter moves (so the bound on it below says something): one request, one
    # execution, one success.
    warm = stats(server)
    assert (warm["executions"] - idle["executions"], warm["success"] - idle["success"]) == (1, 1), (idle, warm)
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
    answers: list[int] = []
    busy = threading.Thread(target=lambda: answers.append(
        requests.post(f"{server.url}/v2/models/slow/infer", data=BODY, timeout=60).status_code))
    start = settled(server)
    busy.start()
    time.sleep(0.3)  # the model is busy with that one
    for _ in range(10):
        send_infer(server.port).close()
    busy.join(60)
    end = settled(server)
    ran = end["executions"] - start["executions"]
    assert answers == [200], answers
    # The busy request ran, and it alone.
    assert ran == 1, f"{ran} executions for the busy request: requests whose client had closed ran ({start} {end})"
    assert end["success"] - start["success"] == 1, (start, end)
