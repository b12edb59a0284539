"""Figures of a run, what fails the acceptance of issue 13, a readable summary with reproducers
for every failing family, and the JSON report."""
from __future__ import annotations

import bisect
import collections
import json
from pathlib import Path

from .liveness import percentiles
from .runner import Tally

RSS_TOLERANCE = 0.10
LIVENESS_P99_MS = 10.0
FD_SLACK = 10  # descriptors the server may legitimately hold more after the run (pools, caches)
REPRODUCERS_PER_KIND = 3
STALL_S = 0.05  # a liveness poll slower than this is a stall worth explaining


def stalls(tally: Tally) -> dict:
    """The liveness polls over STALL_S, and which inputs were in flight during them: per family,
    how much more often than its share of all inputs (over 1: the family coincides with stalls),
    and the inputs in flight during the five longest."""
    slow = sorted(((end - latency, end) for end, latency in tally.polls if latency > STALL_S), key=lambda s: s[0] - s[1])
    spans = sorted(tally.spans)
    starts = [span[0] for span in spans]
    longest = max((span[1] - span[0] for span in spans), default=0.0)
    overlapping = [[span for span in spans[bisect.bisect_left(starts, start - longest):bisect.bisect_left(starts, end)]
                    if span[1] > start] for start, end in slow]
    in_flight = collections.Counter(span[2] for spans in overlapping for span in spans)
    total, inputs = sum(in_flight.values()), sum(tally.sent.values())
    ratio = {family: round((count / total) / (tally.sent[family] / inputs), 1) for family, count in in_flight.items()}
    return {"count": len(slow), "over_represented": dict(sorted(ratio.items(), key=lambda kv: -kv[1])),
            "longest": [{"ms": round(1000 * (end - start)), "in_flight": [(s[3], s[2], s[4]) for s in spans[:8]]}
                        for (start, end), spans in zip(slow[:5], overlapping[:5])]}


def figures(tally: Tally) -> dict:
    """Every figure of the run, JSON-ready."""
    kinds = collections.Counter(kind for _, _, kind, _ in tally.failures)
    by_family = collections.defaultdict(collections.Counter)
    reproducers = collections.defaultdict(lambda: collections.defaultdict(list))
    for item, answer, kind, note in tally.failures:
        by_family[item.family][kind] += 1
        examples = reproducers[item.family][kind]
        if len(examples) < REPRODUCERS_PER_KIND:
            examples.append({**item.reproducer(), "answer": answer.summary(), "problem": note})
    rss = tally.rss_kib
    inputs = sum(tally.sent.values())
    elapsed = collections.defaultdict(list)
    for start, end, family, _, _ in tally.spans:
        elapsed[family].append(end - start)
    return {
        "seed": tally.settings.seed, "inputs": inputs, "first_index": tally.settings.start,
        "good_inputs": tally.sent.get("good", 0), "duration_s": round(tally.duration_s, 1),
        "inputs_per_s": round(inputs / tally.duration_s, 1) if tally.duration_s else None,
        "exits": len(tally.exits), "exit_details": tally.exits, "lost_to_exits": tally.lost_to_exits,
        "hung_at": tally.hung_at,
        "status_500": kinds["status_500"], "timeouts": kinds["timeout"],
        "wrong_answers": sum(1 for item, _, _, _ in tally.failures if item.expect.kind in ("good", "answer")),
        "failures_by_kind": dict(kinds), "failures_by_family": {f: dict(c) for f, c in sorted(by_family.items())},
        "answers_by_family": {f: dict(c.most_common()) for f, c in sorted(tally.answers.items())},
        "inputs_by_family": dict(sorted(tally.sent.items())),
        "mean_ms_by_family": {f: round(1000 * sum(v) / len(v), 1) for f, v in sorted(elapsed.items())},
        "rss_kib": rss, "rss_growth": round(rss["after"] / rss["before"] - 1, 3) if rss.get("before") else None,
        "open_fds": tally.fds, "liveness": {**percentiles(tally.polls), "failed_polls": tally.liveness_failures,
                                                  "stalls": stalls(tally)},
        "upload_folders_left": len(tally.upload_folders_left), "escaped_writes": tally.escaped_writes,
        "reproducers": {f: dict(k) for f, k in reproducers.items()},
    }


def acceptance_problems(report: dict) -> list[str]:
    """What keeps the run from passing issue 13's acceptance; empty when it passes."""
    problems = []
    if report["hung_at"] is not None:
        problems.append(f"the run stopped at input {report['hung_at']}: most of a batch timed out")
    if report["exits"]:
        problems.append(f"{report['exits']} process exits")
    if report["failures_by_kind"]:
        problems.append(f"failures {report['failures_by_kind']}")
    if report["rss_growth"] is not None and report["rss_growth"] > RSS_TOLERANCE and not report["exits"]:
        problems.append(f"RSS grew {report['rss_growth']:.0%} (KiB {report['rss_kib']})")
    p99 = report["liveness"]["p99_ms"]
    if p99 is None or p99 > LIVENESS_P99_MS or report["liveness"]["failed_polls"]:
        problems.append(f"liveness p99 {p99} ms, {report['liveness']['failed_polls']} failed polls (goal ≤ {LIVENESS_P99_MS} ms)")
    if report["escaped_writes"]:
        problems.append(f"files written outside upload folders: {report['escaped_writes'][:5]}")
    if report["upload_folders_left"]:
        problems.append(f"{report['upload_folders_left']} upload folders left in TMPDIR")
    fds = report["open_fds"]
    if not report["exits"] and fds["after"] > fds["before"] + FD_SLACK:
        problems.append(f"open descriptors {fds['before']} -> {fds['after']} after the settle")
    return problems


def summary(report: dict) -> str:
    """A readable account: figures, failures per family, reproducers, exits."""
    live = report["liveness"]
    lines = [f"attack seed {report['seed']}: {report['inputs']} inputs ({report['good_inputs']} good) in "
             f"{report['duration_s']} s; exits {report['exits']}, 500s {report['status_500']}, timeouts "
             f"{report['timeouts']}, wrong good answers {report['wrong_answers']}",
             f"RSS KiB {report['rss_kib']} (growth {report['rss_growth']}); open fds {report['open_fds']}; "
             f"liveness p50/p99/max {live['p50_ms']}/{live['p99_ms']}/{live['max_ms']} ms, {live['failed_polls']} failed; "
             f"upload folders left {report['upload_folders_left']}; escaped writes {len(report['escaped_writes'])}",
             f"mean ms per input by family: {report['mean_ms_by_family']}"]
    for family, kinds in report["failures_by_family"].items():
        lines.append(f"[{family}] {report['inputs_by_family'].get(family, 0)} inputs, failures {kinds}; "
                     f"answers {report['answers_by_family'].get(family)}")
        for kind, examples in report["reproducers"][family].items():
            for example in examples:
                lines.append(f"    {kind}: #{example['index']} {example['listener']}/{example['transport']}"
                             f"{' ' + example['rpc'] if example['rpc'] else ''}"
                             f"{' half-closed' if example['half_close'] else ''}: {example['description']}\n"
                             f"      sent {example['bytes'][:600]}\n      got {example['answer'][:300]} — {example['problem'][:200]}")
    for exit_ in report["exit_details"]:
        lines.append(f"EXIT status {exit_['status']} during inputs {exit_['inputs']} of seed {exit_['seed']} "
                     f"({report['lost_to_exits']} inputs in all lost to exits); inputs cut off, by start (the first is the likeliest cause): "
                     f"{exit_['suspects'][:6]}\n" + "\n".join("      " + line for line in exit_["crash"].splitlines()))
    stall = live["stalls"]
    lines.append(f"liveness stalls over {1000 * STALL_S:.0f} ms: {stall['count']}; families over-represented in flight: "
                 f"{dict(list(stall['over_represented'].items())[:5])}")
    for longest in stall["longest"]:
        lines.append(f"    {longest['ms']} ms, in flight: {longest['in_flight']}")
    return "\n".join(lines)


def write_json(report: dict, path: Path) -> None:
    path.write_text(json.dumps(report, indent=1, default=str))
