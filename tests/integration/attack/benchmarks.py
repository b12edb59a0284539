"""The "Soak" section of BENCHMARKS.md: written by `make soak`, replacing the section when present
(up to the next "## " heading), appended at the end otherwise; the other sections stay as they are."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

HEADING = "## Soak"


def soak_section(attack: dict, soak: dict, binary: str, problems: list[str]) -> str:
    """The section's Markdown from the attack's figures (report.figures) and the mixed load's (soak.soak_figures)."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    live_a, live_s = attack["liveness"], soak["liveness"]
    rows = [
        ("hostile + good inputs (seed)", f"{attack['inputs']:,} ({attack['good_inputs']:,} good; seed {attack['seed']})",
         f"{sum(soak['requests'].values()):,} requests ({soak['minutes']} min)"),
        ("duration", f"{attack['duration_s']} s ({attack['inputs_per_s']} inputs/s)", f"{soak['minutes'] * 60:.0f} s"),
        ("process exits (inputs lost to them)", f"{attack['exits']} ({attack['lost_to_exits']})",
         f"{soak['exits']} ({soak['lost_to_exits']})"),
        ("500s", attack["status_500"], soak["failures_by_kind"].get("status_500", 0)),
        ("answers past the 10 s timeout", attack["timeouts"], soak["failures_by_kind"].get("timeout", 0)),
        ("good requests not answered right", attack["wrong_answers"], soak["wrong_answers"]),
        ("failures by kind (verdict.py)", attack["failures_by_kind"] or 0, soak["failures_by_kind"] or 0),
        ("RSS before / after / max (MiB)", mib(attack["rss_kib"]), mib(soak["rss_kib"])),
        ("liveness p50 / p99 / max (ms)", f"{live_a['p50_ms']} / {live_a['p99_ms']} / {live_a['max_ms']}",
         f"{live_s['p50_ms']} / {live_s['p99_ms']} / {live_s['max_ms']}"),
        ("model loads / unloads, disconnects", "", f"{soak['loads']} / {soak['unloads']}, {soak['disconnects']}"),
    ]
    verdict = "passes" if not problems else "fails: " + "; ".join(problems)
    return "\n".join([
        HEADING, "",
        f"Written by `make soak` on {when} with `{binary}`: the seeded black-box attack of "
        "issue 13 (`tests/integration/attack`) over every listener, then the mixed load (good requests over "
        "HTTP, gRPC, TF Serving and TorchServe with every answer checked, a tenth hostile, `churn_mul` unloaded "
        "and loaded through both management APIs, clients disconnecting mid-request). Acceptance (zero exits, "
        f"500s and timeouts, every good answer right, RSS within 10%, liveness p99 ≤ 10 ms): the run {verdict}.", "",
        "| | attack | mixed load |", "|---|---|---|",
        *[f"| {name} | {a} | {s} |" for name, a, s in rows], "",
    ])


def mib(rss: dict) -> str:
    return " / ".join(f"{rss[k] / 1024:.0f}" if k in rss else "–" for k in ("before", "after", "max"))


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
