"""Sends bytes over a fresh TCP connection to 127.0.0.1 and reads one HTTP/1.1 answer (skipping
interim 1xx answers), within a deadline. Sending stops early when the server answers first (as
for a body it refuses before reading it all)."""
from __future__ import annotations

import select
import socket
import time

from .answer import Answer

MAX_BODY = 16 << 20
CLOSE_WAIT_S = 1.0  # how long a server that must close may take to do it after answering
HELD_OPEN = "held open: an answer without Content-Length or chunked coding, and the connection not closed"


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line, -1 when it is not one."""
    try:
        return int(line.split(b";")[0], 16)
    except ValueError:
        return -1


class Connection:
    """One client connection with a deadline for everything done on it."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        """Writes `data`, stopping when the server has something to say (other than `100 Continue`)
        or stops reading."""
        view = memoryview(data)
        self.sock.setblocking(False)
        try:
            while view and time.monotonic() < self.deadline:
                readable, writable, _ = select.select([self.sock], [self.sock], [], 0.2)
                if readable and not self.sock.recv(16, socket.MSG_PEEK).startswith(b"HTTP/1.1 100"):
                    return
                if writable:
                    view = view[self.sock.send(view[:1 << 16]):]
        except (BrokenPipeError, ConnectionResetError):
            return
        finally:
            self.sock.setblocking(True)

    def fill(self) -> bool:
        """Reads more bytes into the buffer; False at end of stream (or reset). Raises TimeoutError."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise TimeoutError from None
        except ConnectionResetError:
            data = b""
        self.eof = not data
        self.buffer += data
        return bool(data)

    def take_line(self, limit: int = 1 << 16) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > limit or not self.fill():
                return None
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def take(self, count: int) -> bytes | None:
        while len(self.buffer) < count:
            if not self.fill():
                return None
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_answer(self) -> Answer:
        """The final answer; status None when the server closed before a whole head came."""
        while True:
            head = b""
            while b"\r\n\r\n" not in head:
                if b"\r\n\r\n" in self.buffer:
                    head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                    head += b"\r\n\r\n"
                    break
                if len(self.buffer) > (1 << 20) or not self.fill():
                    return Answer(closed=True, error="garbled answer" if self.buffer.strip() else "")
            status_line, *lines = head[:-4].split(b"\r\n")
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                return Answer(error=f"garbled answer {status_line[:80]!r}")
            status = int(parts[1])
            if 100 <= status < 200:
                continue
            headers = {}
            for line in lines:
                name, _, value = line.partition(b":")
                key = name.strip().lower().decode("latin-1")
                headers[key] = (headers[key] + ", " if key in headers else "") + value.strip().decode("latin-1")
            return self.read_body(Answer(status=status, headers=headers))

    def read_body(self, answer: Answer) -> Answer:
        if answer.status in (204, 304):
            return answer
        if "chunked" in answer.headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = chunk_size(self.take_line() or b"")
                chunk = self.take(size + 2) if 0 < size and len(body) + size <= MAX_BODY else b""
                if size < 0 or not chunk and size:
                    answer.error = "garbled chunked answer"
                    return answer
                if size == 0:
                    answer.body = body
                    return answer
                body += chunk[:size]
        if "content-length" in answer.headers:
            length = answer.headers["content-length"]
            answer.body = (self.take(int(length)) if length.isdigit() else None) or b""
            if not length.isdigit():
                answer.error = f"garbled Content-Length {length!r}"
            return answer
        # Neither Content-Length nor chunked: the body ends when the server closes, which it must then do.
        self.deadline = min(self.deadline, time.monotonic() + CLOSE_WAIT_S)
        try:
            while not self.eof and len(self.buffer) <= MAX_BODY:
                self.fill()
        except TimeoutError:
            answer.error = HELD_OPEN
        answer.body, answer.closed = self.buffer, not answer.error
        return answer

    def closes_soon(self) -> bool:
        """Whether the server ends the connection within CLOSE_WAIT_S (bytes it still sends are read)."""
        self.deadline = min(self.deadline, time.monotonic() + CLOSE_WAIT_S)
        try:
            while self.fill():
                self.buffer = b""
        except TimeoutError:
            return False
        return True


def exchange(port: int, data: bytes, half_close: bool, timeout: float, watch_close: bool) -> Answer:
    """Connects, sends `data` (then shuts down the sending side when `half_close`), reads the
    answer; when `watch_close`, also whether the server then closes the connection."""
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except ConnectionRefusedError:
        return Answer(error="refused", elapsed=time.monotonic() - started)
    except OSError as problem:
        return Answer(error=f"connect: {problem}", elapsed=time.monotonic() - started)
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(sock, started + timeout)
        try:
            connection.send(data)
            if half_close:
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            answer = connection.read_answer()
            if watch_close and answer.status is not None and answer.closed is None and not answer.error:
                answer.closed = connection.closes_soon()
        except TimeoutError:
            answer = Answer(error="timeout")
        answer.elapsed = time.monotonic() - started
        return answer
