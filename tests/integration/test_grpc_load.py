"""The gRPC frontend under load and interruption: a 10,000-request stream with malformed requests,
cancelled and timed-out calls that leave no queued work and no memory behind, HTTP and gRPC
clients at once, perf_analyzer over gRPC (unary and streaming), and SIGTERM with calls in flight."""
from __future__ import annotations

import queue
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from support import (assert_same, model_statistics, perf_analyzer_requests, perf_analyzer_throughputs,
                     run_perf_analyzer, wait_until_settled)
from test_grpc import GRPCServer, grpc_repo, grpc_server, raw_input  # noqa: F401  (shared fixtures)

SLOW_INPUT = np.array([1.0], np.float32)


def slow_input() -> grpcclient.InferInput:
    return raw_input("x", SLOW_INPUT, "FP32")


def slow_stats(client: grpcclient.InferenceServerClient):
    return client.get_inference_statistics("slow").model_stats[0]


def slow_settled(client, timeout: float = 30.0):
    """Waits until the slow model's request counts have not changed for 2 s (longer than one
    execution) and returns its statistics."""
    return wait_until_settled(
        lambda: slow_stats(client),
        lambda stats: (stats.execution_count, stats.inference_stats.success.count, stats.inference_stats.fail.count),
        timeout)


def test_stream_of_10000_requests_with_malformed_ones_stays_open(grpc_server):
    client = grpcclient.InferenceServerClient(grpc_server.grpc_address)
    answers: queue.Queue = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)))
    total = 10_000
    malformed = 0
    try:
        for index in range(total):
            x = np.full((1, 4), index, np.float32)
            if index % 100 == 99:  # a malformed request: wrong datatype, unknown model or unknown output
                malformed += 1
                kind = (index // 100) % 3
                if kind == 0:
                    client.async_stream_infer("identity_fp32", [raw_input("x", x.astype(np.int32), "INT32")],
                                              request_id=str(index))
                elif kind == 1:
                    client.async_stream_infer("no_such_model", [raw_input("x", x, "FP32")], request_id=str(index))
                else:
                    client.async_stream_infer("identity_fp32", [raw_input("x", x, "FP32")], request_id=str(index),
                                              outputs=[grpcclient.InferRequestedOutput("nope")])
            else:
                client.async_stream_infer("identity_fp32", [raw_input("x", x, "FP32")], request_id=str(index))
        errors = 0
        for index in range(total):
            result, error = answers.get(timeout=60)
            if index % 100 == 99:
                assert result is None and error is not None and error.message(), f"request {index}: {result} {error}"
                errors += 1
            else:
                assert error is None, f"request {index}: {error}"
                response = result.get_response()
                assert response.id == str(index), f"answer {index} is for request {response.id}"
                assert result.as_numpy("y")[0, 0] == index
        assert errors == malformed == total // 100
        # The same stream still answers afterwards.
        client.async_stream_infer("identity_fp32", [raw_input("x", np.ones((1, 4), np.float32), "FP32")], request_id="last")
        result, error = answers.get(timeout=30)
        assert error is None and result.get_response().id == "last"
    finally:
        client.stop_stream()
        client.close()


def test_cancelled_and_timed_out_calls_leave_no_work_or_memory_behind(grpc_server):
    client = grpcclient.InferenceServerClient(grpc_server.grpc_address)
    try:
        idle = slow_settled(client)
        client.infer("slow", [slow_input()])  # warm up
        # The execution counter moves (so the bounds on it below say something): one call, one
        # execution, one success.
        warm = slow_stats(client)
        assert (warm.execution_count - idle.execution_count, warm.inference_stats.success.count
                - idle.inference_stats.success.count) == (1, 1), (idle, warm)

        def cancel_round(count: int = 100) -> tuple[int, int]:
            """Sends `count` calls, cancels them, and returns (requests that reached the model,
            executions counted after the cancel)."""
            start = slow_settled(client)
            calls = [client.async_infer("slow", [slow_input()], callback=lambda result, error: None)
                     for _ in range(count)]
            time.sleep(1.0)  # the calls reach the server: one runs, the others wait in the queue
            at_cancel = slow_stats(client)
            for call in calls:
                call.cancel()
            end = slow_settled(client)
            reached = (end.inference_stats.success.count + end.inference_stats.fail.count
                       - start.inference_stats.success.count - start.inference_stats.fail.count)
            assert end.inference_stats.fail.count - start.inference_stats.fail.count >= reached - (
                end.execution_count - start.execution_count)  # the ones that did not run failed as cancelled
            return reached, end.execution_count - at_cancel.execution_count

        cancel_round()  # the first round allocates whatever the server keeps for reuse
        rss_before = grpc_server.rss_kib()
        for _ in range(2):
            reached, ran_after_cancel = cancel_round()
            # A call cancelled before the server read it never reaches the model at all.
            assert reached >= 50, f"only {reached} of 100 cancelled requests reached the model"
            # Only the execution under way when the calls were cancelled (and one racing it) ends.
            assert ran_after_cancel <= 2, f"{ran_after_cancel} executions after the cancel: the queue kept requests"
        after = slow_stats(client)

        # Deadlines: requests that time out in the queue are dropped too. At most the executions
        # that fit in the deadline (plus the one under way at its end) may run.
        execution_s = after.inference_stats.compute_infer.ns / after.inference_stats.compute_infer.count / 1e9
        fit = int(0.3 / execution_s) + 2
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(
            _status(lambda: client.infer("slow", [slow_input()], client_timeout=0.3)))) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert statuses.count("StatusCode.DEADLINE_EXCEEDED") >= 30 - fit, statuses
        assert statuses.count("StatusCode.DEADLINE_EXCEEDED") + statuses.count("OK") == 30, sorted(set(statuses))
        settled = slow_settled(client)
        ran = settled.execution_count - after.execution_count
        # Every call answered OK ran.
        assert statuses.count("OK") <= ran <= fit, (
            f"{ran} requests ran; {statuses.count('OK')} answered OK, only {fit} fit in their deadline")

        # Nothing queued is left: a new request is answered in about one execution's time.
        began = time.monotonic()
        client.infer("slow", [slow_input()])
        assert time.monotonic() - began < max(4 * execution_s, 2.0)
        rss_after = grpc_server.rss_kib()
        print(f"RSS {rss_before} KiB before 200 cancelled calls, {rss_after} KiB after")
        assert rss_after < rss_before + 16 * 1024, f"RSS grew from {rss_before} KiB to {rss_after} KiB"
    finally:
        client.close()


def _status(call) -> str:
    try:
        call()
        return "OK"
    except InferenceServerException as error:
        return str(error.status())


def test_http_and_grpc_clients_at_once_are_all_answered_correctly(grpc_server, reference, model_files):
    clients_per_protocol, requests_each = 32, 8
    model = model_files["simple"]

    def work(protocol: str, worker: int) -> int:
        rng = np.random.default_rng(worker + (1000 if protocol == "grpc" else 0))
        if protocol == "grpc":
            client = grpcclient.InferenceServerClient(grpc_server.grpc_address)
            module = grpcclient
        else:
            client = httpclient.InferenceServerClient(grpc_server.address, network_timeout=60)
            module = httpclient
        try:
            for index in range(requests_each):
                batch = int(rng.integers(1, 9))
                a = rng.integers(-1000, 1000, (batch, 16), dtype=np.int32)
                b = rng.integers(-1000, 1000, (batch, 16), dtype=np.int32)
                inputs = [module.InferInput("INPUT0", [batch, 16], "INT32"), module.InferInput("INPUT1", [batch, 16], "INT32")]
                inputs[0].set_data_from_numpy(a)
                inputs[1].set_data_from_numpy(b)
                result = client.infer("simple", inputs, request_id=f"{protocol}-{worker}-{index}")
                expected = reference.run(model, {"INPUT0": a, "INPUT1": b})
                assert_same(result.as_numpy("OUTPUT0"), expected["OUTPUT0"], f"{protocol} OUTPUT0")
                assert_same(result.as_numpy("OUTPUT1"), expected["OUTPUT1"], f"{protocol} OUTPUT1")
            return requests_each
        finally:
            client.close()

    jobs = [(p, w) for p in ("http", "grpc") for w in range(clients_per_protocol)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = list(pool.map(lambda job: work(*job), jobs))
    assert sum(done) == 2 * clients_per_protocol * requests_each


@pytest.mark.parametrize("model", ["simple", "dense_tiny"])
@pytest.mark.parametrize("streaming", [False, True], ids=["unary", "streaming"])
def test_perf_analyzer_over_grpc(grpc_server, model, streaming):
    before = model_statistics(grpc_server, model)["inference_stats"]
    output = run_perf_analyzer("-m", model, "-i", "grpc", "-u", grpc_server.grpc_address,
                               "--concurrency-range", "4", "--measurement-interval", "800", "--max-trials", "4",
                               "--stability-percentage", "1000", *(["--streaming"] if streaming else []), timeout=90)
    throughputs = perf_analyzer_throughputs(output)
    assert list(throughputs) == [4] and throughputs[4] > 0, output[-3000:]
    after = model_statistics(grpc_server, model)["inference_stats"]
    sent = perf_analyzer_requests(output)
    assert sent > 0, output[-3000:]
    assert after["success"]["count"] - before["success"]["count"] >= sent, (before["success"], after["success"], sent)
    assert after["fail"]["count"] == before["fail"]["count"], (before["fail"], after["fail"])


def test_sigterm_finishes_calls_in_flight_and_ends_streams(grpc_repo, logs):
    server = GRPCServer(grpc_repo, logs / "grpc-shutdown.log").start()
    client = grpcclient.InferenceServerClient(server.grpc_address)
    stream_client = grpcclient.InferenceServerClient(server.grpc_address)
    try:
        began = time.monotonic()
        client.infer("slow", [slow_input()])
        one = time.monotonic() - began
        unary: list = []

        def call() -> None:
            unary.append(_status(lambda: client.infer("slow", [slow_input()])))
            unary.append(time.monotonic())

        thread = threading.Thread(target=call)
        answers: queue.Queue = queue.Queue()
        stream_client.start_stream(callback=lambda result, error: answers.put((result, error)))
        stream_client.async_stream_infer("slow", [slow_input()], request_id="streamed")
        thread.start()
        time.sleep(min(0.2, one / 2))
        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        thread.join(60)
        assert unary[:1] == ["OK"], f"the unary call in flight failed during shutdown: {unary}"
        assert unary[1] > signalled_at, "the call finished before SIGTERM: the test proves nothing"
        result, error = answers.get(timeout=60)
        assert error is None and result.get_response().id == "streamed"
        assert server.process.wait(20) == 0, server.log_tail()
    finally:
        stream_client.stop_stream()
        stream_client.close()
        client.close()
        server.kill()
