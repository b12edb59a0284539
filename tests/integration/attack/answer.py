"""What came back for one input, whatever the transport."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Answer:
    """HTTP: the final status, headers (lower-case names) and body; `closed`: whether the server
    closed the connection (None when not looked at). gRPC: the status code's name and message, and
    the response bytes in `body`. Raw HTTP/2: `ending` says how the stream or connection ended.
    `error` names a transport problem ("timeout", "refused", "reset"); `elapsed` is in seconds."""

    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    closed: bool | None = None
    grpc_code: str = ""
    grpc_message: str = ""
    ending: str = ""
    error: str = ""
    elapsed: float = 0.0

    def summary(self) -> str:
        """A line for a report."""
        if self.error:
            return f"{self.error} after {self.elapsed:.2f} s"
        if self.grpc_code:
            return f"gRPC {self.grpc_code}: {self.grpc_message[:200]!r}"
        if self.ending:
            return f"HTTP/2 {self.ending}"
        if self.status is None:
            return "closed without an answer"
        return (f"{self.status} {self.body[:300]!r}" + ("" if self.closed is None else
                                                       f" (connection {'closed' if self.closed else 'kept open'})"))
