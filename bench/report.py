"""The bench's summary: each figure beside the bare app's from the same run, and the targets met or not."""
from __future__ import annotations

import os
import platform

# The targets: shares of the bare app's requests/s (same run, same gunicorn settings), the
# figures with rates moving five times a second against those without, and p99 growth from the
# smallest to the largest number of accounts.
PG_API_SHARE, PG_PAGE_SHARE, PG_304_SHARE = 0.65, 0.50, 0.80
SQLITE_API_SHARE, SQLITE_PAGE_SHARE = 0.50, 0.40
TICKER_KEEPS = 0.90
P99_GROWTH = 1.5
LOAD_SECONDS = 300
# As bench/__main__.py serves the dashboard on PostgreSQL: (figure-name suffix, label note)
VARIANTS = (("", ""), ("_uncached", ", cache off"))


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} × {model}, Python {platform.python_version()}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _row(label: str, figures: dict, ratio: float | None) -> str:
    share = f"{ratio:9.0%}" if ratio is not None else ""
    return f"{label:56}{figures['rps']:9.0f}{figures['p50_ms']:9.2f}{figures['p99_ms']:9.2f}{share}"


def render(figures: dict) -> str:
    targets, labels = figures["targets"], figures["labels"]
    bare = targets["bare"]
    lines = [
        f"machine: {figures['machine']}",
        f"gunicorn: {figures['workers']} for every app; wrk: {figures['connections']} connections; "
        f"best of {figures['rounds']} round(s) of {figures['duration']:g} s per figure (see bench/README.md)",
        "",
        f"{'':56}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}",
    ]

    def share(key):
        return targets[key]["rps"] / bare["rps"]

    for key, label in labels.items():
        alone = key.endswith("_alone")
        lines.append(_row("bare Flask (short JSON)" if key == "bare" else label, targets[key], None if alone else share(key)))
    lines.append("")
    sizes = figures["sizes"]
    for size, data in sizes.items():
        load = "kept from an earlier run" if data["cached"] else "loaded in this run"
        seconds = f"{data['load_seconds']:.1f} s" if data.get("load_seconds") else "time unknown"
        lines.append(f"{int(size):,} accounts in {data['schema']}: {load} ({seconds}); signed in as {data['signed_in_as']}")
        for suffix, note in VARIANTS:
            q = data["queries"][suffix]
            lines.append(
                f"  SQL per request{note or ', cache on and warm'}: GET / {q['/']['statements']} statements in "
                f"{q['/']['round_trips']} round trips; GET /api/balance {q['/api/balance']['statements']} in {q['/api/balance']['round_trips']}"
            )
    lines.append("")

    def verdict_share(what: str, keys: list[str], target: float) -> None:
        keys = [key for key in keys if key in targets]
        if keys:
            worst = min(share(key) for key in keys)
            lines.append(f"target {what} >= {target:.0%} of bare req/s: {worst:.0%} at worst — {_verdict(worst >= target)}")

    pg_sizes = [str(size) for size in sizes]
    verdict_share("PostgreSQL /api/balance", [f"{s}:api_balance" for s in pg_sizes], PG_API_SHARE)
    verdict_share("PostgreSQL wallet page ", [f"{s}:wallet_page" for s in pg_sizes], PG_PAGE_SHARE)
    verdict_share("PostgreSQL 304 refresh ", [f"{s}:api_304" for s in pg_sizes], PG_304_SHARE)
    verdict_share("SQLite /api/balance    ", ["sqlite:api_balance"], SQLITE_API_SHARE)
    verdict_share("SQLite wallet page     ", ["sqlite:wallet_page"], SQLITE_PAGE_SHARE)
    for key in [k for k in targets if k.endswith("_ticker")]:
        steady = key.removesuffix("_ticker")
        kept = targets[key]["rps"] / targets[steady]["rps"]
        lines.append(f"target {labels[key]} within {1 - TICKER_KEEPS:.0%} of steady rates: "
                     f"{kept:.0%} of {targets[steady]['rps']:.0f} req/s — {_verdict(kept >= TICKER_KEEPS)}")
        moving_cpu, steady_cpu = targets[key].get("worker_cpu_ms"), targets[steady].get("worker_cpu_ms")
        if moving_cpu and steady_cpu:
            lines.append(f"  (the workers' CPU per request, median of the rounds: {moving_cpu:.3f} ms moving against "
                         f"{steady_cpu:.3f} steady, {moving_cpu / steady_cpu - 1:+.0%})")
    if len(sizes) > 1:
        first, last = min(sizes, key=int), max(sizes, key=int)
        for kind, how in (("api_balance_alone", "1 connection"), ("api_balance", f"{figures['connections']} connections")):
            small, large = targets[f"{first}:{kind}"], targets[f"{last}:{kind}"]
            growth = large["p99_ms"] / small["p99_ms"]
            lines.append(
                f"target /api/balance p99 at {int(last):,} within {P99_GROWTH}× of {int(first):,} ({how}): "
                f"{large['p99_ms']:.2f} / {small['p99_ms']:.2f} ms = {growth:.2f}× — {_verdict(growth <= P99_GROWTH)}"
            )
        largest = sizes[last]
        if largest.get("load_seconds"):
            lines.append(
                f"target load of {int(last):,} accounts under {LOAD_SECONDS} s: {largest['load_seconds']:.1f} s — "
                f"{_verdict(largest['load_seconds'] < LOAD_SECONDS)}"
            )
    lines.append(f"bench wall time: {figures['wall_seconds']:.0f} s")
    return "\n".join(lines)
