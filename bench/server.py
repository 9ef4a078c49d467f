"""Serves an app under gunicorn on 127.0.0.1 for the length of a `with` block, and no longer."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Workers:
    """The same settings for the bare app and the dashboard, so the ratio compares the apps."""

    count: int = 2
    worker_class: str = "gthread"
    threads: int = 2

    def describe(self) -> str:
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"{self.count} {self.worker_class} workers{threads}"


# Each served base URL's gunicorn arbiter, so a measurement can read what its workers spent.
_ARBITERS: dict[str, int] = {}


def workers_cpu_seconds(base_url: str) -> float:
    """CPU time (user and system) spent so far by the workers of the gunicorn serving base_url:
    unlike requests/s, it does not move when another process on the machine takes the CPU, so
    it shows what a change costs the app itself."""
    return children_cpu_seconds(_ARBITERS[base_url])


def children_cpu_seconds(parent: int, *, with_parent: bool = False) -> float:
    """CPU time (user and system) spent so far by parent's child processes (and parent's own)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        # fields after the name: state, ppid, ..., utime (12th), stime (13th)
        if int(fields[1]) == parent or (with_parent and int(entry.name) == parent):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """The whole process group (arbiter and workers): TERM, then KILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def serve(app: str, workers: Workers, env: dict | None = None):
    """Yield the base URL of `app` (a gunicorn app spec) served on a free loopback port."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    # run.sh's trap reads these to stop any server left behind if this process is killed outright.
    pid_dir = Path(os.environ.get("BENCH_PID_DIR") or tempfile.gettempdir())
    command = [
        GUNICORN,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers.count),
        "--worker-class", workers.worker_class,
        "--threads", str(workers.threads),
        "--chdir", str(REPO),
        "--error-logfile", str(log),
        "--log-level", "warning",
        "--pid", str(pid_dir / f"bench-gunicorn-{port}.pid"),
        app,
    ]
    with log.open("ab") as log_file:
        # Its own session, so stop() can signal the arbiter and every worker at once.
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_listening(process, port, log)
        base_url = f"http://127.0.0.1:{port}"
        _ARBITERS[base_url] = process.pid
        yield base_url
    finally:
        _ARBITERS.pop(f"http://127.0.0.1:{port}", None)
        stop(process)
        log.unlink(missing_ok=True)
