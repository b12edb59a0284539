"""The two PNGs of a run (matplotlib, no display needed):
  concurrency.png  throughput and p99 versus concurrency per protocol, ResNet-50 and dense_tiny,
                   with the in-process floor as a dashed line;
  loadtest.png     the ramped load test over time: answers per second, failures, p50 / p99 and
                   the number of clients running;
  torchserve.png   the TorchServe-style JPEG clients: answers per second and p50 / p99 per
                   concurrency step, with the in-process Python base as dashed lines.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

COLORS = {"http": "tab:blue", "grpc": "tab:orange", "http-json": "tab:green"}
LABELS = {"http": "HTTP binary", "grpc": "gRPC", "http-json": "HTTP JSON"}


def _rows(results: dict, model: str) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for r in results.get("perf", []) + results.get("json", []):
        if r.get("model") == model and r.get("throughput") is not None:
            by.setdefault(r["protocol"], []).append(r)
    return {k: sorted(v, key=lambda r: r["concurrency"]) for k, v in by.items()}


def _concurrency_axes(axes, levels: list[int]) -> None:
    """Concurrent clients on a log2 x axis, ticked at the measured levels; grid and legend."""
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("concurrent clients")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)


def concurrency_plot(results: dict, path: Path) -> Path | None:
    if not _rows(results, "resnet50") and not _rows(results, "dense_tiny"):
        return None
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, (model, unit, scale) in enumerate((("resnet50", "ms", 1e-3), ("dense_tiny", "µs", 1.0))):
        rows = _rows(results, model)
        inproc = results.get("inprocess", {}).get(model, {})
        ax_t, ax_l = axes[0][col], axes[1][col]
        for proto, rs in rows.items():
            cs = [r["concurrency"] for r in rs]
            ax_t.plot(cs, [r["throughput"] for r in rs], "o-", color=COLORS.get(proto), label=LABELS.get(proto, proto))
            ax_l.plot(cs, [(r["p99_us"] or 0) * scale for r in rs], "o-", color=COLORS.get(proto),
                      label=LABELS.get(proto, proto) + " p99")
            ax_l.plot(cs, [(r["p50_us"] or 0) * scale for r in rs], "o:", color=COLORS.get(proto), alpha=0.6,
                      label=LABELS.get(proto, proto) + " p50")
        if inproc and model == "resnet50":
            ax_t.axhline(inproc["best_throughput"], ls="--", color="gray",
                         label=f"in-process best ({inproc['best_throughput']:.1f}/s)")
        if inproc:
            ax_l.axhline(inproc["batch1"]["p50_ms"] * 1000 * scale, ls="--", color="gray",
                         label=f"in-process batch-1 p50")
        if model == "dense_tiny":
            ax_t.axhline(13000, ls="-.", color="red", alpha=0.5, label="target 13,000/s")
        levels = sorted({r["concurrency"] for rs in rows.values() for r in rs}) or [1]
        ax_t.set_ylim(bottom=0)
        _concurrency_axes((ax_t, ax_l), levels)
        ax_t.set_title(f"{model}: throughput")
        ax_t.set_ylabel("requests / s")
        ax_l.set_title(f"{model}: latency")
        ax_l.set_ylabel(unit)
        if model == "dense_tiny":
            ax_l.set_yscale("log")
    fig.suptitle(f"Swerve, {results.get('date', '')}, {results.get('machine', {}).get('nproc', '?')} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def loadtest_plot(results: dict, path: Path) -> Path | None:
    lt = results.get("loadtest")
    if not lt or not lt.get("seconds"):
        return None
    secs = lt["seconds"]
    t = [s["t"] for s in secs]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    ax1.bar(t, [s["ok"] for s in secs], width=1.0, color="tab:blue", alpha=0.7, label="answers / s (200)")
    ax1.bar(t, [s["failed"] for s in secs], width=1.0, color="red", label="failures / s")
    ax1.axhline(lt["peak_throughput"], ls="--", color="gray", label=f"peak {lt['peak_throughput']:.1f}/s (best {lt.get('peak_window_s', 5)} s window)")
    ax1.set_ylabel("per second")
    ax1b = ax1.twinx()
    ax1b.plot(t, [s["clients"] for s in secs], color="black", lw=1, label="clients sending (0: draining after the hold)")
    ax1b.set_ylabel("clients")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax1b.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax1.set_title(f"ResNet-50 load test, HTTP binary: {lt['clients']} clients ramped over {lt['ramp_s']:.0f} s, "
                  f"held {lt['hold_s']:.0f} s; {lt['failed']} failed of {lt['requests']}")
    nan = float("nan")
    ax2.plot(t, [nan if s["p50_ms"] is None else s["p50_ms"] for s in secs], ".-", color="tab:blue", label="p50 of the answers in that second")
    ax2.plot(t, [nan if s["p99_ms"] is None else s["p99_ms"] for s in secs], ".-", color="tab:red", label="p99")
    ax2.set_ylabel("latency (ms)")
    ax2.set_xlabel("seconds since the first client")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def torchserve_plot(results: dict, path: Path) -> Path | None:
    ts = results.get("torchserve") or {}
    steps = [r for r in ts.get("steps", []) if r.get("p50_ms") is not None]
    if not steps:
        return None
    base = ts.get("inprocess") or {}
    cs = [r["concurrency"] for r in steps]
    fig, (ax_t, ax_l) = plt.subplots(1, 2, figsize=(11, 4.5))
    ax_t.plot(cs, [r["throughput"] for r in steps], "o-", color="tab:blue", label="answers / s (200)")
    failed = [(r["concurrency"], r["failed"]) for r in steps if r["failed"]]
    if failed:
        ax_t.plot([c for c, _ in failed], [0] * len(failed), "x", color="red", label="steps with failures")
    ax_l.plot(cs, [r["p99_ms"] for r in steps], "o-", color="tab:red", label="p99")
    ax_l.plot(cs, [r["p50_ms"] for r in steps], "o:", color="tab:blue", label="p50")
    if base:
        ax_t.axhline(base["throughput"], ls="--", color="gray",
                     label=f"in-process Python, 1 client ({base['throughput']:.0f}/s)")
        ax_l.axhline(base["p50_ms"], ls="--", color="gray", label=f"in-process p50 ({base['p50_ms']:.1f} ms)")
    ax_t.set_ylim(bottom=0)
    ax_l.set_yscale("log")
    _concurrency_axes((ax_t, ax_l), cs)
    ax_t.set_ylabel("answers / s")
    ax_l.set_ylabel("ms")
    ax_t.set_title(f"POST /predictions/{ts.get('model')}: throughput ({ts.get('failed', 0)} failed)")
    ax_l.set_title("latency")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_all(results: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    made = [concurrency_plot(results, out_dir / "concurrency.png"), loadtest_plot(results, out_dir / "loadtest.png"),
            torchserve_plot(results, out_dir / "torchserve.png")]
    return [p for p in made if p is not None]
