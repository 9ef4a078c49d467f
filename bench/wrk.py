"""Drives a URL with wrk for a fixed time and reads back requests/s and the latency percentiles."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

WRK = "/usr/bin/wrk"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus socket errors: any at all makes the figures worthless
    worker_cpu_ms: float | None = None  # CPU the server's workers spent per request (bench.server.workers_cpu_seconds)


def ensure_wrk() -> str:
    """wrk from Debian's package, installed here when missing and we are root."""
    if os.path.exists(WRK):
        return WRK
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed: run `sudo apt-get install -y wrk` and try again")
    print("installing wrk (apt-get install -y wrk)")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, timeout=600, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return WRK


def parse(name: str, output: str) -> Result:
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in _PERCENTILE.findall(output)}
    requests = re.search(r"^\s*(\d+) requests in", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not (requests and rps and {50, 99} <= percentiles.keys()):
        raise RuntimeError(f"could not read wrk's output for {name}:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sockets:
        # A sync worker closes the connection after each answer; wrk counts those as read errors.
        errors += int(sockets.group(1)) + int(sockets.group(3)) + int(sockets.group(4))
    return Result(name, int(requests.group(1)), float(rps.group(1)), percentiles[50], percentiles[99], errors)


# One browser: the sign-in and every measured request send the same User-Agent. Flask-Login's
# session protection hashes it (with the address) into the session; a different one marks the
# session not fresh, and the app then signs and sends a new cookie on every answer, which no
# real browser, keeping its cookie and its User-Agent, would cause.
USER_AGENT = "dashboard-bench/1 (wrk)"


def run(name: str, url: str, *, seconds: float, connections: int, threads: int = 1, cookie: str | None = None,
        headers: dict[str, str] | None = None) -> Result:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the bench only drives 127.0.0.1, not {url}")
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s",
               "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    for header, value in (headers or {}).items():
        command += ["-H", f"{header}: {value}"]
    command.append(url)
    # wrk stops itself after -d; the timeout only guards against a hung wrk.
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse(name, done.stdout)
