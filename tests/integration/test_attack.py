"""Issue 13's short attack run: 10,000 seeded inputs (tests/integration/attack) over every
listener — malformed HTTP framing, raw-socket garbage, half-closed connections, deep JSON, absurd
numbers in management calls, path traversal in uploads, hostile multipart, content codings and
compression bombs, corrupt and bomb images, gRPC garbage, broken HTTP/2 and oversize messages —
with every tenth a good request whose answer is checked.

Acceptance: no process exit, no 500, no answer past the 10 s timeout, every good answer right,
every hostile input answered as its family expects (4xx with the protocol's error body, or the
connection closed), RSS within 10% of before 10 s after the run, liveness p99 ≤ 10 ms, no file
written outside an upload folder, no upload folder or connection left behind. On failure the
message lists, per failing family, reproducers (listener and exact bytes) and the answers got.

Reproduce one input: `cd tests/integration && ../../.venv/bin/python -m attack --show INDEX`."""
from __future__ import annotations

import pytest

from attack.report import acceptance_problems, figures, summary, write_json
from attack.repository import make_repository
from attack.runner import Run, Settings
from attack.server import AttackServer

SEED = 13
INPUTS = 10_000


@pytest.fixture(scope="module")
def attack_server(repos, classifier_repo, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("attack")
    server = AttackServer(make_repository(workdir, main=repos["main"], classifier=classifier_repo), workdir)
    server.start()
    yield server
    server.server.kill()


def test_10000_seeded_hostile_inputs_leave_the_server_up_and_every_answer_right(attack_server):
    tally = Run(attack_server, Settings(seed=SEED, count=INPUTS)).run()
    report = figures(tally)
    path = attack_server.sandbox.parent / "attack-report.json"
    write_json(report, path)
    problems = acceptance_problems(report)
    status = attack_server.stop()
    if status != 0:
        problems.append(f"exit status {status} after SIGTERM")
    assert not problems, "\n".join(problems) + f"\n(JSON report: {path})\n\n" + summary(report)
