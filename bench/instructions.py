"""Machine instructions per request (bare app, GET /api/balance, GET /), counted by Valgrind's callgrind.

Run: python -m bench.instructions [--schema bench_1000] [--requests 30]   (about 3 minutes)
Timings on a shared 2-core machine swing by half from one minute to the next; instruction counts
do not, so they show what a change to the request path saves. Only this Python process is counted
(PostgreSQL's side of each query is not).
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import load
from . import schema as bench_schema

INNER = "BENCH_UNDER_CALLGRIND"
TARGETS = (
    ("bare Flask app", "bare", "/"),
    ("GET /api/balance", "dashboard", "/api/balance"),
    ("GET /api/balance, If-None-Match (304)", "dashboard", "/api/balance?conditional"),
    ("GET / (wallet page)", "dashboard", "/"),
    ("GET /api/balance, cache off", "uncached", "/api/balance"),
    ("GET / (wallet page), cache off", "uncached", "/"),
)


def _count_inside(schema: str, requests: int) -> None:
    """Runs under callgrind: each target's requests between two dumps, so each dump is one target."""
    from dashboard import create_app

    from .bare_app import create_app as create_bare_app
    from .profile import signed_in_client

    accounts = load.loaded_accounts(schema)[0]
    email = load.bench_email(load.middle_account(accounts))
    dashboard = create_app(bench_schema.app_config(schema))
    clients = {
        "bare": create_bare_app().test_client(),
        "dashboard": signed_in_client(dashboard, email),
        "uncached": signed_in_client(create_app({**bench_schema.app_config(schema), "READ_CACHE_SECONDS": 0}), email),
    }
    # The read cache keeps nothing until its feed listens (slow to start under Valgrind).
    feed = dashboard.extensions["dashboard_change_feed"]
    clients["dashboard"].get("/api/balance")
    deadline = time.monotonic() + 120
    while not feed.listening and time.monotonic() < deadline:
        time.sleep(0.1)
    if not feed.listening:
        raise SystemExit("the read cache's change feed did not start listening")
    for index, (_label, app, path) in enumerate(TARGETS):
        client = clients[app]
        headers, expected = {}, 200
        if path.endswith("?conditional"):  # the page's refresh when nothing changed
            path = path.removesuffix("?conditional")
            headers, expected = {"If-None-Match": client.get(path).headers["ETag"]}, 304
        for _ in range(20):
            client.get(path, headers=headers)
        gc.collect()
        gc.freeze()  # a full collection of the start-up objects would land on one target at random
        subprocess.run(["callgrind_control", "--dump=before", str(os.getpid())], check=True, capture_output=True)
        for _ in range(requests):
            if client.get(path, headers=headers).status_code != expected:
                raise SystemExit(f"GET {path} did not answer {expected}")
        subprocess.run(["callgrind_control", f"--dump=target-{index}", str(os.getpid())], check=True, capture_output=True)


def _totals(folder: Path) -> dict[int, int]:
    totals = {}
    for dump in folder.glob("cg.out.*"):
        text = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: .*target-(\d+)", text, re.M)
        summary = re.search(r"^summary: (\d+)", text, re.M)
        if trigger and summary:
            totals[int(trigger.group(1))] = int(summary.group(1))
    return totals


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="bench_1000", help="a schema the bench has loaded (default bench_1000)")
    parser.add_argument("--requests", type=int, default=30, help="requests counted per target (default 30)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if os.environ.get(INNER):
        _count_inside(args.schema, args.requests)
        return
    if not load.loaded_accounts(bench_schema.check_schema(args.schema)):
        raise SystemExit(f"schema {args.schema} holds no finished bench load: run python -m bench first")
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("valgrind is not installed: sudo apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as folder:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.out", sys.executable, "-m", "bench.instructions",
                   "--schema", args.schema, "--requests", str(args.requests)]
        done = subprocess.run(command, env={**os.environ, INNER: "1"}, cwd=bench_schema.REPO, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"the counting run failed:\n{done.stderr[-3000:]}")
        totals = _totals(Path(folder))
    if len(totals) != len(TARGETS):
        raise SystemExit("callgrind wrote no count for some target")
    bare = totals[0] / args.requests
    print(f"{'instructions per request (this process only)':46}{'millions':>10}{'× bare':>9}")
    for index, (label, _app, _path) in enumerate(TARGETS):
        per_request = totals[index] / args.requests
        print(f"{label:46}{per_request / 1e6:10.2f}{per_request / bare:9.1f}")


if __name__ == "__main__":
    main()
