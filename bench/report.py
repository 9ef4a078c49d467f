"""The bench's summary: each figure beside the bare app's from the same run, and the targets met or not."""
from __future__ import annotations

import os
import platform

# The targets: shares of the bare app's requests/s, and p99 growth from smallest to largest size.
API_SHARE, PAGE_SHARE, P99_GROWTH = 0.50, 0.35, 1.5
LOAD_SECONDS = 300
# As bench/__main__.py serves the dashboard: (figure-name suffix, label note)
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
    return f"{label:44}{figures['rps']:9.0f}{figures['p50_ms']:9.2f}{figures['p99_ms']:9.2f}{share}"


def render(figures: dict) -> str:
    bare = figures["bare"]
    lines = [
        f"machine: {figures['machine']}",
        f"gunicorn: {figures['workers']} for every app; wrk: {figures['connections']} connections; "
        f"best of {figures['rounds']} round(s) of {figures['duration']:g} s per figure (see bench/README.md)",
        "",
        f"{'':44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}",
        _row("bare Flask (short JSON)", bare, 1.0),
    ]
    sizes = figures["sizes"]

    def ratio(size, kind):
        return sizes[size][kind]["rps"] / bare["rps"]

    for suffix, note in VARIANTS:
        for size, data in sizes.items():
            lines.append(_row(f"GET /api/balance @ {int(size):,}{note}", data["api_balance" + suffix], ratio(size, "api_balance" + suffix)))
            lines.append(_row(f"GET / (wallet page) @ {int(size):,}{note}", data["wallet_page" + suffix], ratio(size, "wallet_page" + suffix)))
            lines.append(_row(f"GET /api/balance @ {int(size):,}{note}, 1 conn.", data["api_balance_alone" + suffix], None))
    lines.append("")
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
    first, last = sizes[min(sizes, key=int)], sizes[max(sizes, key=int)]
    for suffix, _note in VARIANTS:
        # The targets are judged on the app as configured by default; the cache-off shares are
        # printed beside them, so what a request costs when it must read is never hidden.
        judged = "" if not suffix else " (information: the cache off)"
        api_share = min(ratio(size, "api_balance" + suffix) for size in sizes)
        page_share = min(ratio(size, "wallet_page" + suffix) for size in sizes)
        lines.append(f"target /api/balance >= {API_SHARE:.0%} of bare req/s{judged}: {api_share:.0%} at worst — {_verdict(api_share >= API_SHARE)}")
        lines.append(f"target wallet page  >= {PAGE_SHARE:.0%} of bare req/s{judged}: {page_share:.0%} at worst — {_verdict(page_share >= PAGE_SHARE)}")
    if len(sizes) > 1:
        for suffix, note in VARIANTS:
            for key, how in (("api_balance_alone", "1 connection"), ("api_balance", f"{figures['connections']} connections")):
                key += suffix
                growth = last[key]["p99_ms"] / first[key]["p99_ms"]
                lines.append(
                    f"target /api/balance p99 at {last['accounts']:,} within {P99_GROWTH}× of {first['accounts']:,} ({how}{note}): "
                    f"{last[key]['p99_ms']:.2f} / {first[key]['p99_ms']:.2f} ms = {growth:.2f}× — {_verdict(growth <= P99_GROWTH)}"
                )
    if last.get("load_seconds"):
        lines.append(
            f"target load of {last['accounts']:,} accounts under {LOAD_SECONDS} s: {last['load_seconds']:.1f} s — "
            f"{_verdict(last['load_seconds'] < LOAD_SECONDS)}"
        )
    lines.append(f"bench wall time: {figures['wall_seconds']:.0f} s")
    return "\n".join(lines)
