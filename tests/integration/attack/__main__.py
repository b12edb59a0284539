"""The attack run from the command line (`make soak` runs it long and writes BENCHMARKS.md).

    cd tests/integration && ../../.venv/bin/python -m attack --inputs 10000            # a short run
    ../../.venv/bin/python -m attack --inputs 100000 --soak-minutes 30 --benchmarks ../../BENCHMARKS.md
    ../../.venv/bin/python -m attack --show 1234                                        # one input's bytes

The binary is $SWERVE_BIN (default .build/debug/swerve); the repository is generated in --workdir
(default a new temporary folder), the classifier with scripts/make_classifier.py. Exit status 1
when the run misses issue 13's acceptance; the JSON report goes to <workdir>/attack-report.json."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from support import swerve_binary

from .benchmarks import soak_section, write_section
from .generator import FAMILIES, make_input
from .report import acceptance_problems, figures, summary, write_json
from .repository import make_repository
from .runner import Run, Settings
from .server import AttackServer
from .soak import Soak, soak_figures


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m attack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--inputs", type=int, default=10_000, help="inputs to send (default 10,000)")
    parser.add_argument("--start", type=int, default=0, help="index of the first input")
    parser.add_argument("--families", default="", help=f"comma-separated hostile families to keep, of {FAMILIES[1:]}")
    parser.add_argument("--workers", type=int, default=8, help="client threads")
    parser.add_argument("--soak-minutes", type=float, default=0, help="minutes of mixed load after the inputs")
    parser.add_argument("--workdir", type=Path, help="where the repository, log and report go")
    parser.add_argument("--benchmarks", type=Path, help="BENCHMARKS.md whose Soak section the figures replace")
    parser.add_argument("--show", type=int, metavar="INDEX", help="print input INDEX of the seed and exit")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    families = tuple(f for f in args.families.split(",") if f)
    if args.show is not None:
        print(json.dumps(make_input(args.seed, args.show, families).reproducer(), indent=1))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="swerve-attack-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"attack: {swerve_binary()}, work folder {workdir}", flush=True)
    server = AttackServer(make_repository(workdir), workdir)
    server.start()
    try:
        tally = Run(server, Settings(seed=args.seed, count=args.inputs, start=args.start, families=families,
                                     workers=args.workers), log=lambda line: print(line, flush=True)).run()
        report = figures(tally)
        problems = acceptance_problems(report)
        soak = None
        if args.soak_minutes > 0:
            print(f"mixed load for {args.soak_minutes} min", flush=True)
            soak = soak_figures(Soak(server, args.seed, args.start + args.inputs, args.soak_minutes).run())
            problems += soak_problems(soak, report)
    finally:
        status = server.stop()
    if status != 0:
        problems.append(f"exit status {status} after SIGTERM")
    write_json({"attack": report, "soak": soak, "problems": problems}, workdir / "attack-report.json")
    print(summary(report))
    if soak:
        print(f"mixed load: {json.dumps({k: v for k, v in soak.items() if k not in ('reproducers', 'crashes')})}")
        for crash in soak["crashes"]:
            print("mixed load EXIT:\n" + crash)
        print(json.dumps(soak["reproducers"], indent=1)[:6000])
    if args.benchmarks:
        write_section(args.benchmarks, soak_section(report, soak or empty_soak(), str(swerve_binary()), problems))
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    print(f"report: {workdir / 'attack-report.json'}; server log: {workdir / 'server.log'}")
    return 1 if problems else 0


def soak_problems(soak: dict, attack: dict) -> list[str]:
    """What keeps the mixed load from passing: exits, failures, RSS over 10% above the attack's
    starting point, liveness p99 over 10 ms."""
    problems = [f"mixed load: {soak['exits']} exits"] if soak["exits"] else []
    if soak["failures_by_kind"]:
        problems.append(f"mixed load: failures {soak['failures_by_kind']}")
    before = attack["rss_kib"]["before"]
    if soak["rss_kib"]["after"] > 1.10 * before and not soak["exits"] and not attack["exits"]:
        problems.append(f"mixed load: RSS {before} -> {soak['rss_kib']['after']} KiB")
    if (soak["liveness"]["p99_ms"] or 1e9) > 10.0:
        problems.append(f"mixed load: liveness p99 {soak['liveness']['p99_ms']} ms")
    return problems


def empty_soak() -> dict:
    """Figures for a run without mixed load."""
    none = {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"minutes": 0, "requests": {}, "exits": 0, "lost_to_exits": 0, "failures_by_kind": {}, "wrong_answers": 0,
            "rss_kib": {}, "liveness": none, "loads": 0, "unloads": 0, "disconnects": 0}


if __name__ == "__main__":
    sys.exit(main())
