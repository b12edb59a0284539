"""64 concurrent clients, each sending 200 requests alternating between two models, get only
correct answers (checked against numpy and Python onnxruntime)."""
from __future__ import annotations

import threading
import time

import numpy as np
import requests

from support import assert_same, infer_json, output_array

CLIENTS = 64
REQUESTS_PER_CLIENT = 200


def test_64_concurrent_clients_get_only_correct_answers(server, reference, model_files):
    dense_tiny = model_files["dense_tiny"]
    reference.session(dense_tiny)  # create before the threads start
    failures: list[str] = []
    done = [0] * CLIENTS
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        rng = np.random.default_rng(index)
        try:
            with requests.Session() as session:
                start.wait()
                for i in range(REQUESTS_PER_CLIENT):
                    batch = int(rng.integers(1, 9))
                    if i % 2 == 0:
                        a = rng.integers(-10**6, 10**6, (batch, 16), dtype=np.int32)
                        b = rng.integers(-10**6, 10**6, (batch, 16), dtype=np.int32)
                        body = {"id": f"{index}-{i}", "inputs": [
                            {"name": "INPUT0", "shape": [batch, 16], "datatype": "INT32", "data": a.reshape(-1).tolist()},
                            {"name": "INPUT1", "shape": [batch, 16], "datatype": "INT32", "data": b.reshape(-1).tolist()}]}
                        response = infer_json(server, "simple", body, session=session)
                        assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
                        answer = response.json()
                        assert answer["id"] == f"{index}-{i}"
                        assert_same(output_array(answer, "OUTPUT0", np.int32), a + b, "OUTPUT0")
                        assert_same(output_array(answer, "OUTPUT1", np.int32), a - b, "OUTPUT1")
                    else:
                        x = rng.standard_normal((batch, 16)).astype(np.float32)
                        body = {"id": f"{index}-{i}", "inputs": [
                            {"name": "x", "shape": [batch, 16], "datatype": "FP32", "data": x.reshape(-1).tolist()}]}
                        response = infer_json(server, "dense_tiny", body, session=session)
                        assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
                        answer = response.json()
                        assert answer["id"] == f"{index}-{i}"
                        assert_same(output_array(answer, "y", np.float32),
                                    reference.run(dense_tiny, {"x": x})["y"], "y")
                    done[index] += 1
        except BaseException as error:  # noqa: BLE001 - reported below with the client's index
            failures.append(f"client {index}, request {done[index]}: {error!r}"[:500])

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), f"clients still running after {elapsed:.0f} s"
    assert not failures, f"{len(failures)} clients failed:\n" + "\n".join(failures[:20])
    assert sum(done) == CLIENTS * REQUESTS_PER_CLIENT
    assert server.alive()
