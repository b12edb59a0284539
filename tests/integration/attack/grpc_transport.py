"""Sends a serialized request message to a gRPC method as it is (identity serializers, so the
bytes may be anything) and returns the status and response bytes."""
from __future__ import annotations

import threading
import time

import grpc

from .answer import Answer

_local = threading.local()
OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", 64 << 20),
           ("grpc.enable_retries", 0)]


def channel(port: int) -> grpc.Channel:
    """This thread's channel to the port (one per thread, so threads never share a connection)."""
    channels = _local.__dict__.setdefault("channels", {})
    if port not in channels:
        channels[port] = grpc.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS)
    return channels[port]


def call(port: int, rpc: str, data: bytes, timeout: float) -> Answer:
    """A unary call of `rpc` (a path such as /inference.GRPCInferenceService/ModelInfer)."""
    started = time.monotonic()
    try:
        response = channel(port).unary_unary(rpc)(data, timeout=timeout)
        answer = Answer(grpc_code="OK", body=response)
    except grpc.RpcError as failure:
        code = failure.code().name
        details = failure.details() or ""
        refused = code == "UNAVAILABLE" and "connect" in details.lower()  # nothing listens: an exit
        answer = Answer(grpc_code=code, grpc_message=details,
                        error="timeout" if code == "DEADLINE_EXCEEDED" else "refused" if refused else "")
    answer.elapsed = time.monotonic() - started
    return answer
