"""The soak's mixed load, after the hostile inputs: for `minutes`, CLIENTS threads send good
requests (KServe v2 HTTP JSON and binary, gRPC, TF Serving, TorchServe images; every answer
checked) and, one time in ten, the next hostile inputs of the run's seed; one client unloads and
loads `churn_mul` through the KServe repository API and TorchServe's management API in turn and
checks an inference after each load; one client disconnects mid-request (HTTP: after half of the
request or all of it, before the answer, with a FIN or a RST; gRPC: a deadline of a millisecond)."""
from __future__ import annotations

import collections
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from . import family_good, grpc_transport
from .answer import Answer
from .cases import Input, good
from .generator import GOOD_EVERY, make_input
from .http_bytes import post_json, request
from .liveness import LivenessProbe, percentiles
from .repository import CHURN_MODEL
from .runner import crash_excerpt, send
from .server import AttackServer
from .verdict import judge

CLIENTS = 4
HOSTILE_SHARE = 0.1
CHURN_PAUSE_S = 0.5  # between unload/load cycles
DISCONNECT_PAUSE_S = 0.05
LOAD_TIMEOUT_S = 60.0
MUL_1 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # mul_1 (and churn_mul): Y = X * [[1,2],[3,4],[5,6]], X FP32 [3,2]


@dataclass
class SoakTally:
    """What the mixed load observed."""

    minutes: float
    requests: collections.Counter = field(default_factory=collections.Counter)  # family -> sent
    failures: list = field(default_factory=list)  # (Input, Answer, kind, note)
    lost_to_exits: int = 0  # requests refused because the process had exited
    crashes: list = field(default_factory=list)  # why each exit happened (runner.crash_excerpt)
    loads: int = 0
    unloads: int = 0
    disconnects: int = 0
    polls: list = field(default_factory=list)  # liveness (end time, latency)
    liveness_failures: int = 0
    rss_kib: dict = field(default_factory=dict)
    exits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, item: Input, answer: Answer, timeout: float) -> None:
        failure = judge(item, answer, timeout)
        with self.lock:
            self.requests[item.family] += 1
            if failure and failure[0] == "refused":
                self.lost_to_exits += 1
            elif failure:
                self.failures.append((item, answer, *failure))


def churn_inference(step: int) -> Input:
    """An inference on churn_mul whose answer is known exactly."""
    x = [float((step + i) % 7) for i in range(6)]
    body = {"inputs": [{"name": "X", "shape": [3, 2], "datatype": "FP32", "data": x}]}
    return Input(step, "churn", "http", "http", post_json(f"/v2/models/{CHURN_MODEL}/infer", body),
                 good("kserve_values", {"Y": [v * f for v, f in zip(x, MUL_1)]}), "infer churn_mul after its load")


def churn_calls(step: int) -> list[tuple[str, Input]]:
    """Unload then load churn_mul: KServe's repository API on odd steps, TorchServe's management API on even."""
    if step % 2:
        calls = [("unloads", "http", request("POST", f"/v2/repository/models/{CHURN_MODEL}/unload")),
                 ("loads", "http", request("POST", f"/v2/repository/models/{CHURN_MODEL}/load"))]
    else:
        calls = [("unloads", "torchserve-management", request("DELETE", f"/models/{CHURN_MODEL}")),
                 ("loads", "torchserve-management", request("POST", f"/models?url={CHURN_MODEL}"))]
    return [(counter, Input(step, "churn", listener, "http", data, good("status", 200), counter[:-1] + " " + CHURN_MODEL))
            for counter, listener, data in calls]


class Soak:
    """The mixed load against a running server (the attack's, in explicit model-control mode)."""

    def __init__(self, server: AttackServer, seed: int, first_hostile: int, minutes: float, timeout_s: float = 10.0):
        self.server, self.seed, self.timeout = server, seed, timeout_s
        self.next_hostile = first_hostile
        self.deadline = time.monotonic() + 60 * minutes
        self.tally = SoakTally(minutes)
        self.lock = threading.Lock()

    def hostile_input(self) -> Input:
        """The next input of the seed that is not a good one."""
        with self.lock:
            self.next_hostile += 1 + (self.next_hostile % GOOD_EVERY == GOOD_EVERY - 1)
            index = self.next_hostile
        return make_input(self.seed, index)

    def client(self, number: int) -> None:
        rng = random.Random(f"swerve-soak/{self.seed}/{number}")
        count = 0
        while time.monotonic() < self.deadline:
            count += 1
            item = self.hostile_input() if rng.random() < HOSTILE_SHARE else family_good.generate(rng, count)
            self.tally.record(item, send(self.server, item, self.timeout), self.timeout)

    def churn(self) -> None:
        step = 0
        while time.monotonic() < self.deadline:
            step += 1
            for counter, item in churn_calls(step):
                self.tally.record(item, send(self.server, item, LOAD_TIMEOUT_S), LOAD_TIMEOUT_S)
                with self.tally.lock:
                    setattr(self.tally, counter, getattr(self.tally, counter) + 1)
            check = churn_inference(step)
            self.tally.record(check, send(self.server, check, self.timeout), self.timeout)
            time.sleep(CHURN_PAUSE_S)

    def disconnects(self) -> None:
        rng = random.Random(f"swerve-soak-disconnects/{self.seed}")
        count = 0
        while time.monotonic() < self.deadline:
            count += 1
            item = family_good.generate(rng, count)
            if item.transport == "grpc":
                grpc_transport.call(self.server.ports["grpc"], item.rpc, item.data, 0.001)
            else:
                self.disconnect(item.listener, item.data[:rng.choice([len(item.data) // 2, len(item.data)])],
                                reset=rng.random() < 0.5)
            with self.tally.lock:
                self.tally.disconnects += 1
            time.sleep(DISCONNECT_PAUSE_S)

    def disconnect(self, listener: str, data: bytes, reset: bool) -> None:
        """Sends `data` and closes at once, with a RST when `reset`. A refused connection is left to
        the exit check of run()."""
        try:
            with socket.create_connection(("127.0.0.1", self.server.ports[listener]), timeout=5) as sock:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.sendall(data)
        except ConnectionRefusedError:
            pass

    def run(self) -> SoakTally:
        tally = self.tally
        tally.rss_kib["before"] = tally.rss_kib["max"] = self.server.rss_kib()
        probe = LivenessProbe(self.server.ports["http"])
        threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]
        threads += [threading.Thread(target=self.churn), threading.Thread(target=self.disconnects)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(2)
            if not self.server.server.alive():
                tally.exits += 1
                tally.crashes.append(crash_excerpt(self.server.server.log_text()))
                probe = self.collect(probe, restart=True)
            tally.rss_kib["max"] = max(tally.rss_kib["max"], self.server.rss_kib())
        self.collect(probe, restart=False)
        time.sleep(10)
        tally.rss_kib["after"] = self.server.rss_kib()
        return tally

    def collect(self, probe: LivenessProbe, restart: bool) -> LivenessProbe | None:
        polls, failures = probe.stop()
        self.tally.polls += polls
        self.tally.liveness_failures += failures
        if not restart:
            return None
        self.server.restart_if_exited()
        return LivenessProbe(self.server.ports["http"])


def soak_figures(tally: SoakTally) -> dict:
    """The mixed load's figures, JSON-ready, with a few reproducers per failure kind."""
    kinds = collections.Counter(kind for _, _, kind, _ in tally.failures)
    examples = collections.defaultdict(list)
    for item, answer, kind, note in tally.failures:
        if len(examples[kind]) < 3:
            examples[kind].append({**item.reproducer(), "answer": answer.summary(), "problem": note})
    return {"minutes": tally.minutes, "requests": dict(tally.requests), "exits": tally.exits,
            "crashes": tally.crashes, "lost_to_exits": tally.lost_to_exits, "failures_by_kind": dict(kinds),
            "wrong_answers": sum(1 for item, _, _, _ in tally.failures if item.expect.kind in ("good", "answer")),
            "reproducers": dict(examples), "loads": tally.loads,
            "unloads": tally.unloads, "disconnects": tally.disconnects, "rss_kib": tally.rss_kib,
            "rss_growth": round(tally.rss_kib["after"] / tally.rss_kib["before"] - 1, 3),
            "liveness": {**percentiles(tally.polls), "failed_polls": tally.liveness_failures}}
