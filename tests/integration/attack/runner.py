"""The attack run: inputs (seed, start…start+count) sent by a pool of threads in batches, each
answer judged; after every batch the process is checked, and an exit is recorded (with the inputs
it cut off, earliest first, and the crash message from the log) and the server started again so
the run goes on; a batch that mostly times out stops the run. Liveness is probed throughout from another process; RSS and open descriptors are read after a
warm-up and again after a settle."""
from __future__ import annotations

import collections
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import grpc_transport, h2_transport, http_transport
from .answer import Answer
from .cases import Input
from .family_uploads import PWNED_ABSOLUTE
from .generator import make_input
from .liveness import LivenessProbe
from .server import AttackServer
from .verdict import judge


# Failures an exit explains in the batch it happened in: counted as lost to the exit, not to the input.
EXIT_SYMPTOMS = ("timeout", "no_answer", "garbled")


@dataclass(frozen=True)
class Settings:
    """What to run: inputs start…start+count of `seed` (only `families` when given)."""

    seed: int = 13
    count: int = 10_000
    start: int = 0
    families: tuple[str, ...] = ()
    workers: int = 8
    batch: int = 200
    timeout_s: float = 10.0
    warmup: int = 400
    settle_s: float = 10.0


@dataclass
class Tally:
    """Everything the run observed (report.py turns it into figures)."""

    settings: Settings
    duration_s: float = 0.0
    sent: collections.Counter = field(default_factory=collections.Counter)  # family -> inputs
    answers: dict = field(default_factory=lambda: collections.defaultdict(collections.Counter))  # family -> answer kind
    failures: list = field(default_factory=list)  # (Input, Answer, kind, note)
    lost_to_exits: int = 0  # inputs refused, dropped or timed out by an exit (not counted as their failures)
    spans: list = field(default_factory=list)  # (start, end, family, index, description), wall clock
    exits: list = field(default_factory=list)
    hung_at: int | None = None  # the first input of the batch that stopped a hung run
    polls: list = field(default_factory=list)  # liveness (end time, latency)
    liveness_failures: int = 0
    rss_kib: dict = field(default_factory=dict)
    fds: dict = field(default_factory=dict)
    upload_folders_left: list = field(default_factory=list)
    escaped_writes: list = field(default_factory=list)


def lower_priority() -> None:
    """Lowers the calling thread's CPU priority (Linux nice values are per thread)."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def send(server: AttackServer, item: Input, timeout: float) -> Answer:
    """Sends the input over its transport and returns the answer."""
    port = server.ports[item.listener]
    if item.transport == "grpc":
        return grpc_transport.call(port, item.rpc, item.data, timeout)
    if item.transport == "h2":
        return h2_transport.exchange(port, item.data, item.half_close, timeout)
    return http_transport.exchange(port, item.data, item.half_close, timeout, item.expect.closes)


def answer_kind(answer: Answer) -> str:
    """A short label for the answer-class counts ("400", "gRPC INVALID_ARGUMENT", "closed", ...)."""
    if answer.error:
        return answer.error.split()[0]
    if answer.grpc_code:
        return f"gRPC {answer.grpc_code}"
    if answer.ending:
        return f"HTTP/2 {answer.ending}"
    return str(answer.status) if answer.status is not None else "closed"


def timed_send(server: AttackServer, item: Input, timeout: float) -> tuple[float, Answer]:
    """(wall-clock start, answer)."""
    return time.time(), send(server, item, timeout)


def cut_off(item: Input, answer: Answer) -> bool:
    """Whether the connection ended without the answer the input should get (as every input in
    flight at an exit does); inputs refused after the exit are left out."""
    if answer.error == "refused":
        return False
    if answer.error or answer.grpc_code == "UNAVAILABLE" or answer.ending in ("closed", "reset"):
        return True
    expects_close = item.expect.kind in ("drop", "lenient") or item.expect.may_drop
    return item.transport == "http" and answer.status is None and not expects_close


def crash_excerpt(log: str) -> str:
    """The lines saying why the process died: the message before Swift's backtrace and the top
    frames of the crashed thread (else the log's last lines)."""
    lines = log.splitlines()
    signal_at = max((i for i, line in enumerate(lines) if line.startswith("*** Signal")), default=None)
    if signal_at is None:
        return "\n".join(lines[-15:])
    crashed = next((i for i in range(signal_at, len(lines)) if lines[i].rstrip().endswith("crashed:")), len(lines))
    return "\n".join(lines[max(0, signal_at - 2):signal_at] + lines[crashed:crashed + 8])


def remove_markers() -> None:
    """Deletes files an earlier run's traversal inputs planted at their absolute paths."""
    for path in Path(PWNED_ABSOLUTE).parent.glob(Path(PWNED_ABSOLUTE).name + "*"):
        path.unlink()


class Run:
    """One attack run against `server`; `log` gets progress lines."""

    def __init__(self, server: AttackServer, settings: Settings, log=print):
        self.server, self.settings, self.log = server, settings, log
        self.tally = Tally(settings)
        # The senders run at a lower CPU priority than the server and the liveness probe: on a
        # machine of two cores they would otherwise take the server's CPU, and the probe would
        # measure the attacker's load, not the server's answer (in production clients are elsewhere).
        self.pool = ThreadPoolExecutor(settings.workers, initializer=lower_priority)

    def batch(self, indices: range, seed: int, record: bool) -> bool:
        """Sends inputs `indices` of `seed` (judged and counted when `record`); False when most of
        them timed out with the process up (it hangs: the run stops instead of waiting on it)."""
        items = [make_input(seed, i, self.settings.families) for i in indices]
        sent = list(self.pool.map(lambda item: timed_send(self.server, item, self.settings.timeout_s), items))
        judged = [(started, item, answer, judge(item, answer, self.settings.timeout_s))
                  for item, (started, answer) in zip(items, sent)]
        exited = not self.server.server.alive()
        if record:
            for started, item, answer, failure in judged:
                self.tally.sent[item.family] += 1
                self.tally.answers[item.family][answer_kind(answer)] += 1
                self.tally.spans.append((started, started + answer.elapsed, item.family, item.index, item.description))
                if failure and (failure[0] == "refused" or exited and failure[0] in EXIT_SYMPTOMS):
                    self.tally.lost_to_exits += 1
                elif failure:
                    self.tally.failures.append((item, answer, *failure))
        if exited:
            suspects = [(item.index, item.family, item.description) for _, item, answer, _ in
                        sorted(judged, key=lambda j: j[0]) if cut_off(item, answer)][:10]
            self.tally.exits.append({"seed": seed, "inputs": [indices.start, indices.stop - 1], "warm_up": not record,
                                     "status": self.server.server.process.returncode, "suspects": suspects,
                                     "crash": crash_excerpt(self.server.server.log_text())})
            self.log(f"  server exited during inputs {indices.start}-{indices.stop - 1} of seed {seed}; restarting")
        timeouts = sum(1 for _, _, _, failure in judged if failure and failure[0] == "timeout")
        return exited or timeouts <= len(items) // 2

    def restart_if_exited(self, probe: LivenessProbe | None) -> LivenessProbe | None:
        """After an exit: the old probe's polls kept, the server and a new probe started."""
        if self.server.server.alive():
            return probe
        if probe:
            self.collect(probe)
        self.server.restart_if_exited()
        return LivenessProbe(self.server.ports["http"]) if probe else None

    def collect(self, probe: LivenessProbe) -> None:
        """Stops the probe and keeps its polls."""
        polls, failures = probe.stop()
        self.tally.polls += polls
        self.tally.liveness_failures += failures

    def run(self) -> Tally:
        settings, tally = self.settings, self.tally
        remove_markers()
        for first in range(0, settings.warmup, settings.batch):
            self.batch(range(first, min(settings.warmup, first + settings.batch)), settings.seed + 1, record=False)
            self.restart_if_exited(None)
        time.sleep(2)
        tally.rss_kib["before"] = tally.rss_kib["max"] = self.server.rss_kib()
        tally.fds["before"] = self.server.open_fds()
        probe = LivenessProbe(self.server.ports["http"])
        started = time.monotonic()
        end = settings.start + settings.count
        for first in range(settings.start, end, settings.batch):
            if not self.batch(range(first, min(end, first + settings.batch)), settings.seed, record=True):
                tally.hung_at = first
                self.log(f"  most of inputs {first}-{first + settings.batch - 1} timed out: the run stops")
                break
            probe = self.restart_if_exited(probe)
            tally.rss_kib["max"] = max(tally.rss_kib["max"], self.server.rss_kib())
            if (first - settings.start) % (10 * settings.batch) == 0:
                self.log(f"  {first + settings.batch - settings.start} inputs, {len(tally.failures)} failures, "
                         f"{len(tally.exits)} exits, {time.monotonic() - started:.0f} s")
        tally.duration_s = time.monotonic() - started
        self.collect(probe)
        self.pool.shutdown()
        time.sleep(settings.settle_s)
        tally.rss_kib["after"] = self.server.rss_kib()
        tally.fds["after"] = self.server.open_fds()
        tally.upload_folders_left = self.server.upload_folders_left()
        tally.escaped_writes = self.server.escaped_writes()
        return tally
