"""A lean asyncio HTTP/1.1 keep-alive client and a closed-loop load driver.

perf_analyzer cannot send KServe v2 JSON, and the load test needs every response accounted for
(non-200, connection errors, timeouts) with per-second timestamps, so the JSON and load-test
scenarios drive the server with this. Requests are pre-built bytes (the same body every time, or a
few in turn), so the client's own cost per request is small: one write, one header parse, one body read.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


def build_request(method: str, path: str, host: str, port: int, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> bytes:
    """The full bytes of one HTTP/1.1 request with a Content-Length body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def kserve_json_request(host: str, port: int, model: str, inputs: list[dict]) -> bytes:
    """A KServe v2 JSON infer request; `inputs` as the protocol spells them (name, shape, datatype, data)."""
    body = json.dumps({"inputs": inputs}, separators=(",", ":")).encode()
    return build_request("POST", f"/v2/models/{model}/infer", host, port, body,
                         {"Content-Type": "application/json"})


def kserve_binary_request(host: str, port: int, model: str, name: str, array: np.ndarray,
                          output: str) -> bytes:
    """A KServe v2 request with one binary input tensor and a binary output (Triton's extension),
    as tritonclient and perf_analyzer send it."""
    datatype = {np.dtype(np.float32): "FP32", np.dtype(np.int32): "INT32"}[array.dtype]
    raw = np.ascontiguousarray(array).tobytes()
    header = json.dumps({
        "inputs": [{"name": name, "shape": list(array.shape), "datatype": datatype,
                    "parameters": {"binary_data_size": len(raw)}}],
        "outputs": [{"name": output, "parameters": {"binary_data": True}}],
    }, separators=(",", ":")).encode()
    return build_request("POST", f"/v2/models/{model}/infer", host, port, header + raw,
                         {"Content-Type": "application/octet-stream",
                          "Inference-Header-Content-Length": str(len(header))})


class Connection:
    """One keep-alive connection; reopened after any error or a `Connection: close`."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Sends one request and returns (status, body). Raises on connection errors."""
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif key == b"connection" and b"close" in value.lower():
                close = True
        if length is not None:
            body = await self.reader.readexactly(length)
        elif chunked:
            body = await self._read_chunked()
        else:
            body, close = await self.reader.read(), True
        if close:
            self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


async def send_once(port: int, request: bytes, timeout: float = 60) -> tuple[int, bytes]:
    """One request on a fresh connection to 127.0.0.1: (status, body)."""
    conn = Connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(conn.send(request), timeout)
    finally:
        conn.close()


@dataclass
class Record:
    """Every request of a run: start and end (seconds since the run began), status (0: no HTTP
    answer) and error kind ('' when 200)."""
    start: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    error: list[str] = field(default_factory=list)

    def add(self, start: float, end: float, status: int, error: str) -> None:
        self.start.append(start)
        self.end.append(end)
        self.status.append(status)
        self.error.append(error)

    def arrays(self):
        return (np.asarray(self.start), np.asarray(self.end), np.asarray(self.status),
                np.asarray(self.error, dtype=object))


Check = Callable[[bytes], "str | None"]  # a 200's body -> None if good, else what is wrong with it


async def client_loop(host: str, port: int, request: bytes | Sequence[bytes], t0: float, start_at: float,
                      stop_at: float, timeout: float, record: Record, first_error: list[str],
                      check: Check | None = None, first: int = 0) -> None:
    """One closed-loop client: waits until start_at, then sends, waits for the answer, repeats
    until stop_at (the request in flight then is finished and counted). Several requests are sent
    in turn, beginning with the `first`-th. A 200 whose body `check` rejects is a failure ('bad
    answer'). Cancelled, it records its request in flight as failed ('unfinished')."""
    requests = [request] if isinstance(request, bytes) else list(request)
    delay = t0 + start_at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    conn = Connection(host, port)
    begin = None
    turn = first
    try:
        while time.perf_counter() - t0 < stop_at:
            begin = time.perf_counter()
            status, error = 0, ""
            try:
                status, body = await asyncio.wait_for(conn.send(requests[turn % len(requests)]), timeout)
                turn += 1
                if status != 200:
                    error = f"HTTP {status}"
                    if not first_error:
                        first_error.append(f"HTTP {status}: {body[:300]!r}")
                elif check is not None:
                    problem = check(body)
                    if problem:
                        error = "bad answer"
                        if not first_error:
                            first_error.append(f"bad answer ({problem}): {body[:300]!r}")
            except asyncio.TimeoutError:
                error = "timeout"
                conn.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
                error = f"connection: {type(e).__name__}"
                if not first_error:
                    first_error.append(f"{type(e).__name__}: {e}")
                conn.close()
            end = time.perf_counter()
            record.add(begin - t0, end - t0, status, error)
            begin = None
            if error.startswith("connection"):
                await asyncio.sleep(0.05)  # do not spin on a refusing server
    except asyncio.CancelledError:
        if begin is not None:
            record.add(begin - t0, time.perf_counter() - t0, 0, "unfinished")
        raise
    finally:
        conn.close()


async def closed_loop(host: str, port: int, request: bytes | Sequence[bytes], starts: list[float], stop_at: float,
                      timeout: float, check: Check | None = None) -> tuple[Record, float, list[str]]:
    """Runs one client per entry of `starts` (its start time in seconds) until stop_at; returns the
    record, the perf_counter origin and the first error seen (if any). With several requests, each
    client sends them in turn, client i beginning with the i-th. Bounded: clients still running
    timeout + 10 s after stop_at (their own timeouts did not fire: a starved machine) are
    cancelled, and their requests in flight counted as failed."""
    record, first_error = Record(), []
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(client_loop(host, port, request, t0, s, stop_at, timeout, record, first_error,
                                               check, i))
             for i, s in enumerate(starts)]
    _, pending = await asyncio.wait(tasks, timeout=stop_at + timeout + 10)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return record, t0, first_error


def summarize(record: Record, begin: float, end: float) -> dict:
    """Throughput, latency percentiles and failures of the requests that ended in [begin, end)."""
    from bench.util import percentiles
    start, stop, status, error = record.arrays()
    span = max(end - begin, 1e-9)
    sel = (stop >= begin) & (stop < end) if len(stop) else np.zeros(0, bool)
    ok = sel & (error == "") if len(stop) else sel
    lat_ms = (stop[ok] - start[ok]) * 1000 if len(stop) else np.zeros(0)
    p = percentiles(lat_ms)
    return {"requests": int(sel.sum()), "ok": int(ok.sum()), "errors": int((sel & ~ok).sum()) if len(stop) else 0,
            "throughput": float(ok.sum() / span), "p50_ms": p["p50"], "p90_ms": p["p90"], "p99_ms": p["p99"],
            "mean_ms": float(lat_ms.mean()) if len(lat_ms) else None}
