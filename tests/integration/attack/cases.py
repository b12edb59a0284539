"""What an attack input is (the bytes, where they go, how) and what answer it must get."""
from __future__ import annotations

from dataclasses import dataclass

# Every listener of `swerve serve`, by the name support.ports_of gives its port.
HTTP_LISTENERS = ("http", "metrics", "torchserve", "torchserve-management", "tfserving")
LISTENERS = HTTP_LISTENERS + ("grpc",)

# The error body each HTTP listener answers with: KServe v2 and TF Serving {"error": "..."},
# TorchServe {"code", "type", "message"}; the metrics listener has no error format of its own.
ERROR_SHAPES = {"http": "error", "tfserving": "error", "torchserve": "torchserve",
                "torchserve-management": "torchserve", "metrics": "any"}

# gRPC codes a server must not answer to a client's mistake (gRPC's own "this is a bug" codes).
SERVER_FAULT_CODES = ("INTERNAL", "UNKNOWN")


@dataclass(frozen=True)
class Expect:
    """The answer an input must get.

    kind:
      "error"  an HTTP error answer: a status in `statuses` (empty: any 4xx) with the listener's
               JSON error body; `closes`: the server must then close the connection;
               `may_drop`: closing without any answer is right too.
      "good"   200 whose body `check` (a name in checks.CHECKS) accepts against `expected`, or an
               error with one of `statuses` when some are given (a choice the RFCs leave open).
      "answer" a status in `statuses` whose whole answer `check` accepts (for answers that are
               right as a 200 or as a 503, such as TorchServe's /ping while a model loads).
      "lenient" any answer but a 5xx (or a close): inputs whose right answer depends on bytes no
               one can judge cheaply (a randomly corrupted image may still decode).
      "grpc"   a gRPC status other than OK, INTERNAL and UNKNOWN, or one of `grpc_codes` when given.
      "drop"   the server ends the connection (or, over HTTP/2, the stream) without hanging: for
               bytes no protocol can answer.
    """

    kind: str
    statuses: tuple[int, ...] = ()
    closes: bool = False
    may_drop: bool = False
    grpc_codes: tuple[str, ...] = ()
    header: str = ""  # a response header the error answer must carry (lower case)
    check: str = ""
    expected: object = None


def error(*statuses: int, closes: bool = False, may_drop: bool = False, header: str = "") -> Expect:
    """An HTTP error answer with one of `statuses` (none given: any 4xx)."""
    return Expect("error", tuple(statuses), closes=closes, may_drop=may_drop, header=header)


def error_or_unready() -> Expect:
    """Any 4xx, or a 503 for a model left not ready by an earlier failed load (the victims of
    management calls)."""
    return error(*range(400, 500), 503)


def good(check: str, expected, *error_statuses: int, may_drop: bool = False) -> Expect:
    """A 200 whose body the checker `check` accepts against `expected` (or, when given, an error
    answer with one of `error_statuses`; or, when `may_drop`, a close without an answer)."""
    return Expect("good", tuple(error_statuses), may_drop=may_drop, check=check, expected=expected)


def answer(check: str, expected, *statuses: int, may_drop: bool = False) -> Expect:
    """One of `statuses`, the whole answer judged by the checker `check`."""
    return Expect("answer", tuple(statuses), may_drop=may_drop, check=check, expected=expected)


LENIENT = Expect("lenient")
DROP = Expect("drop")


def grpc_error(*codes: str) -> Expect:
    """A non-OK gRPC status: one of `codes`, or (none given) any but INTERNAL and UNKNOWN."""
    return Expect("grpc", grpc_codes=tuple(codes))


@dataclass(frozen=True)
class Input:
    """One input of the run, reproducible from (seed, index).

    transport "http": `data` is written as it is to a TCP connection to `listener`;
    "grpc": `data` is the serialized request message of the RPC `rpc` (a gRPC channel sends it);
    "h2": `data` is written as it is to a TCP connection to the gRPC listener (raw HTTP/2).
    `half_close`: the client shuts down its sending side after `data`."""

    index: int
    family: str
    listener: str
    transport: str
    data: bytes
    expect: Expect
    description: str
    rpc: str = ""
    half_close: bool = False

    def reproducer(self) -> dict:
        """Everything needed to send this input again, the bytes repr'd."""
        return {"index": self.index, "family": self.family, "listener": self.listener,
                "transport": self.transport, "rpc": self.rpc, "half_close": self.half_close,
                "description": self.description, "bytes": repr(self.data[:4000])
                + (f" … ({len(self.data)} bytes)" if len(self.data) > 4000 else "")}
