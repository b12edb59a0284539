"""Judges an answer against what the input expects. A failure is a kind and a note:

- "timeout": no whole answer within the per-request timeout;
- "refused": nothing listened (the process had exited);
- "status_500", "status_5xx": a 500, or another 5xx the input does not allow;
- "grpc_server_fault": INTERNAL or UNKNOWN where the client's mistake deserves another code;
- "wrong_answer": a good request's answer is wrong;
- "wrong_status": an answer of the wrong class (a 2xx to hostile bytes, a 404 for a 400, ...);
- "error_shape": an error without the listener's JSON error body (or a required header);
- "held_open": the server kept a connection it cannot resynchronise, or one whose answer has no
  length (no Content-Length, not chunked), so that the client cannot know where it ends;
- "no_answer": closed without an answer where one is owed; "garbled": not HTTP at all.
"""
from __future__ import annotations

import json

from .answer import Answer
from .cases import ERROR_SHAPES, SERVER_FAULT_CODES, Input
from .checks import check
from .http_transport import HELD_OPEN


def error_shape_problem(listener: str, answer: Answer) -> str | None:
    """None when the body is the listener's error format."""
    shape = ERROR_SHAPES[listener]
    if shape == "any":
        return None
    try:
        body = json.loads(answer.body)
    except ValueError:
        return f"error body is not JSON: {answer.body[:120]!r}"
    if shape == "error":
        ok = isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip()
        return None if ok else f"not {{\"error\": \"...\"}}: {body!r:.160}"
    ok = (isinstance(body, dict) and body.get("code") == answer.status and isinstance(body.get("type"), str)
          and isinstance(body.get("message"), str) and body["message"].strip())
    return None if ok else f"not TorchServe's {{code, type, message}}: {body!r:.160}"


def judge_http(item: Input, answer: Answer) -> tuple[str, str] | None:
    expect = item.expect
    if answer.status is None:
        return None if expect.kind in ("drop", "lenient") or expect.may_drop else ("no_answer", "closed without an answer")
    status = answer.status
    if status >= 500 and status not in expect.statuses:
        return ("status_500" if status == 500 else "status_5xx"), f"{status}: {answer.body[:160]!r}"
    if expect.kind in ("drop", "lenient"):
        return None
    if expect.kind == "answer":
        if status not in expect.statuses:
            return "wrong_status", f"{status}, expected {expect.statuses}: {answer.body[:160]!r}"
        problem = check(answer, expect.check, expect.expected)
        return ("wrong_answer", problem) if problem else None
    if expect.kind == "good" and status == 200:
        problem = check(answer, expect.check, expect.expected)
        return ("wrong_answer", problem) if problem else None
    allowed = expect.statuses if expect.statuses else range(400, 500) if expect.kind == "error" else ()
    if status not in allowed:
        wanted = "200" if expect.kind == "good" else "any 4xx" if not expect.statuses else expect.statuses
        return "wrong_status", f"{status}, expected {wanted}: {answer.body[:160]!r}"
    if item.data.startswith(b"CONNECT ") and not answer.body and answer.closed:
        return None  # NIO's HTTP encoder sends every answer to CONNECT without a body; it is closed
    problem = error_shape_problem(item.listener, answer)
    if problem:
        return "error_shape", f"{status}: {problem}"
    if expect.header and expect.header not in answer.headers:
        return "error_shape", f"{status} without a {expect.header} header"
    if expect.closes and answer.closed is False:
        return "held_open", f"{status} answered, connection kept open"
    return None


def judge_grpc(item: Input, answer: Answer) -> tuple[str, str] | None:
    expect, code = item.expect, answer.grpc_code
    if expect.kind == "good":
        if code == "OK":
            problem = check(answer, expect.check, expect.expected)
            return ("wrong_answer", problem) if problem else None
        kind = "grpc_server_fault" if code in SERVER_FAULT_CODES else "wrong_status"
        return kind, f"{code}: {answer.grpc_message[:160]!r}"
    if code == "OK":
        return "wrong_status", "OK to a hostile request"
    if code in expect.grpc_codes or (not expect.grpc_codes and code not in SERVER_FAULT_CODES):
        return None
    kind = "grpc_server_fault" if code in SERVER_FAULT_CODES else "wrong_status"
    return kind, f"{code}, expected {expect.grpc_codes or 'a non-OK code but INTERNAL/UNKNOWN'}: {answer.grpc_message[:160]!r}"


def judge(item: Input, answer: Answer, timeout: float) -> tuple[str, str] | None:
    """None when the answer is right, else (failure kind, note)."""
    if answer.error == "timeout" or answer.elapsed > timeout:
        return "timeout", f"no whole answer within {timeout:.0f} s"
    if answer.error == "refused":
        return "refused", "connection refused"
    if answer.error == HELD_OPEN:
        return "held_open", f"{answer.status} {answer.error}"
    if answer.error:
        return "garbled", answer.error
    if item.transport == "grpc":
        return judge_grpc(item, answer)
    if item.transport == "h2":
        return None
    return judge_http(item, answer)
