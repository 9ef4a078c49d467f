"""The live wallet at scale: N streams of /api/stream (distinct sessions and accounts) open on one
stream process while every rate ticks five times a second; for each tick, the time from its
commit to each stream receiving figures that include it.

The stream processes are served as in production (`uvicorn --factory dashboard.stream:create_stream_app
--workers P`, P = --processes, one per core by default) on a PostgreSQL schema of its own
(streams_<N>: N bench accounts, each with a session). The bench accounts hold one of seven
wallets (bench/load.py's factors), and accounts holding the same share their figures; with
--distinct-wallets every account's wallet differs from every other's (schema
streams_<N>_distinct), so every account's figures are made on every tick: the worst case. The streams are held by a client process of their own (asyncio), the ticker writes
from this one. An event carries the whole of the figures, and a stream that is behind gets the
latest figures only; so a tick counts as received by a stream when the stream receives figures
whose rates are as of that tick or a later one. A stream is dropped when it closes, fails, or
has not received the last tick 5 s after the ticking stops. Memory per stream: the stream
processes' resident memory with the N streams open, less their memory with one, over N - 1.

With --requests, the sync workers' /api/balance is measured against a bare Flask app (as
bench/run.sh does) before the streams open, while they are open, and while they are open and
the rates tick (not during the ticking whose delays are measured).

Run: python -m bench.streams [--streams 5000] [--seconds 30] [--processes 2] [--distinct-wallets]
                            [--schema streams_5000] [--requests]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from . import load
from . import schema as bench_schema
from .ticker import STEPS, TICKS_PER_SECOND, current_rates, write_tick

MARKER = b'"rates_as_of":"'
CATCH_UP_SECONDS = 5


# -- the sessions ----------------------------------------------------------------------------

def open_sessions(schema: str, accounts: int, extra: int = 0) -> list[str]:
    """A sign-in session for each account (written by COPY) and its signed session cookie; extra:
    that many more, for the first accounts again (another browser of theirs)."""
    from dashboard import create_app
    from dashboard.models import LoginSession

    app = create_app(bench_schema.app_config(schema))
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.session_interface.get_cookie_name(app)
    now = datetime.now(UTC).isoformat()
    cookies, lines = [], io.StringIO()
    for account_id in [*range(1, accounts + 1), *range(1, extra + 1)]:
        token = secrets.token_urlsafe(32)
        lines.write(f"{LoginSession.hash_token(token)}\t{account_id}\t{now}\t{now}\tbench\t127.0.0.1\n")
        cookies.append(f"{name}={serializer.dumps({'_user_id': token, '_fresh': True})}")
    with bench_schema.connect(schema) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM login_sessions")
        with cursor.copy("COPY login_sessions (token_hash, account_id, created_at, last_seen_at, user_agent, address) "
                         "FROM STDIN") as copy:
            copy.write(lines.getvalue())
        connection.commit()
    return cookies


# -- the stream process ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_wallets_distinct(schema: str) -> None:
    """Every account's BTC balance raised by its id in satoshi: no two accounts hold the same, so
    none shares another's figures. Only while two accounts still hold the same BTC (the load's
    comment, which says the schema is loaded, stays as the load wrote it)."""
    with bench_schema.connect(schema) as connection:
        alike = connection.execute("SELECT count(*) - count(DISTINCT available) FROM balances "
                                   "WHERE currency_code = 'btc'").fetchone()[0]
        if alike:
            connection.execute("UPDATE balances SET available = available + account_id * 0.00000001 "
                               "WHERE currency_code = 'btc'")
            connection.commit()


def start_stream_process(schema: str, port: int, processes: int) -> subprocess.Popen:
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    process = subprocess.Popen(
        [uvicorn, "--factory", "dashboard.stream:create_stream_app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(processes),
         "--no-access-log", "--log-level", "warning", "--backlog", "8192", "--timeout-keep-alive", "30"],
        cwd=bench_schema.REPO, env=bench_schema.app_environment(schema), start_new_session=True)
    pid_dir = os.environ.get("BENCH_PID_DIR")
    if pid_dir:
        Path(pid_dir, f"streams-{process.pid}.pid").write_text(str(process.pid))
    try:
        health(port, processes, until=time.monotonic() + 60, alive=process)
    except BaseException:
        stop_process(process)
        raise
    return process


def health(port: int, processes: int, *, until: float, alive: subprocess.Popen | None = None) -> list[dict]:
    """/stream/healthz of each of the processes, asked until every one has answered."""
    answers: dict[int, dict] = {}
    while len(answers) < processes:
        if time.monotonic() > until:
            raise SystemExit(f"{len(answers)} of {processes} stream processes answered /stream/healthz")
        if alive is not None and alive.poll() is not None:
            raise SystemExit(f"the stream process exited with {alive.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stream/healthz", timeout=2) as answer:
                said = json.loads(answer.read())
                answers[said["process"]] = said
        except OSError:
            time.sleep(0.2)
    return list(answers.values())


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn's supervisor and its workers)."""
    pids, index = [pid], 0
    while index < len(pids):
        children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children")
        with contextlib.suppress(OSError):
            pids.extend(int(child) for child in children.read_text().split())
        index += 1
    return pids


def resident_bytes(pid: int) -> int:
    """Resident memory of pid and its descendants."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


# -- the client (a process of its own) -------------------------------------------------------

class Received:
    """Per stream: the rates' moments of the figures received, with when."""

    __slots__ = ("moments", "ended", "error")

    def __init__(self):
        self.moments: list[tuple[str, float]] = []
        self.ended = False
        self.error: str | None = None


async def _one_stream(port: int, cookie: str, received: Received, opened: asyncio.Event, gate: asyncio.Semaphore) -> None:
    try:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
            writer.write(f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                         f"Cookie: {cookie}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
        buffer = b""
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                received.ended = True
                return
            at = time.time()
            buffer += chunk
            while True:
                start = buffer.find(MARKER)
                if start < 0:
                    if b"event: end" in buffer:
                        received.ended = True
                        return
                    buffer = buffer[-64:]
                    break
                end = buffer.find(b"\r\n\r\n", start)
                if end < 0:
                    break
                moment = buffer[start + len(MARKER):buffer.index(b'"', start + len(MARKER))].decode()
                received.moments.append((moment, at))
                opened.set()
                buffer = buffer[end + 4:]
    except Exception as error:  # noqa: BLE001 - a failed stream is counted as dropped
        received.error = f"{error.__class__.__name__}: {error}"
        opened.set()


def client_main(port: int, cookies: list[str], pipe, stop_event) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def run():
        gate = asyncio.Semaphore(200)  # connections being opened at once
        received = [Received() for _ in cookies]
        opened = [asyncio.Event() for _ in cookies]
        tasks = [asyncio.create_task(_one_stream(port, cookie, item, flag, gate))
                 for cookie, item, flag in zip(cookies, received, opened, strict=True)]
        await asyncio.gather(*(flag.wait() for flag in opened))
        pipe.send(("open", sum(item.error is None and not item.ended for item in received),
                   [item.error for item in received if item.error][:3]))
        while not stop_event.is_set():
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pipe.send(("done", [(item.moments, item.ended, item.error) for item in received]))

    asyncio.run(run())


# -- the ticker ------------------------------------------------------------------------------

def tick(schema: str, seconds: float, commits: dict[str, float], stop: threading.Event) -> None:
    with bench_schema.connect(schema) as connection:
        rates = current_rates(connection)
        count = 0
        next_at = time.monotonic()
        deadline = next_at + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            moment = write_tick(connection, rates, STEPS[count % 2], sqlite=False)
            commits[moment.isoformat()] = time.time()
            count += 1
            next_at += 1 / TICKS_PER_SECOND
            time.sleep(max(0.0, next_at - time.monotonic()))


def request_ratio(bare_url: str, app_url: str, cookie: str, rounds: int = 3, seconds: float = 3) -> tuple[float, float, float]:
    """Best-of-rounds requests/s of the bare app and of /api/balance, and their ratio."""
    from .wrk import run as wrk

    bare, dashboard = [], []
    for _ in range(rounds):
        bare.append(wrk("bare", f"{bare_url}/", seconds=seconds, connections=16).rps)
        dashboard.append(wrk("balance", f"{app_url}/api/balance", seconds=seconds, connections=16, cookie=cookie).rps)
    return max(bare), max(dashboard), max(dashboard) / max(bare)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(received: list, commits: dict[str, float]) -> tuple[list[float], int, int]:
    """Each tick's delay to each stream; how many streams were dropped; how many ticks."""
    ticks = sorted(commits.items(), key=lambda item: item[1])
    order = {moment: index for index, (moment, _at) in enumerate(ticks)}
    delays, dropped = [], 0
    for moments, ended, error in received:
        reached = -1
        for moment, at in moments:
            index = order.get(moment)
            if index is None or index <= reached:
                continue  # figures from before the ticking, or not newer than what it had
            for covered in range(reached + 1, index + 1):
                delays.append(at - ticks[covered][1])
            reached = index
        if ended or error or reached < len(ticks) - 1:
            dropped += 1
    return delays, dropped, len(ticks)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the rates tick (default 30)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="stream processes (uvicorn --workers; default: one per core)")
    parser.add_argument("--distinct-wallets", action="store_true",
                        help="no two accounts hold the same wallet, so no two share figures (the worst case)")
    parser.add_argument("--schema", help="default: streams_<streams>, or streams_<streams>_distinct")
    parser.add_argument("--requests", action="store_true",
                        help="also the sync workers' /api/balance against a bare Flask app (wrk, 16 connections), "
                             "before the streams open, while they are open, and while they are open and rates tick")
    args = parser.parse_args(argv)
    if not 1 <= args.streams <= 15000:
        parser.error("--streams must be between 1 and 15000 (a file descriptor each, on both sides)")
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    if not 1 <= args.processes <= 64:
        parser.error("--processes must be between 1 and 64")
    schema = (bench_schema.check_schema(args.schema) if args.schema else
              bench_schema.schema_name("streams", args.streams) + ("_distinct" if args.distinct_wallets else ""))
    bench_schema.migrate(schema)
    if (load.loaded_accounts(schema) or (0, None))[0] != args.streams:
        load.load(schema, args.streams, log=lambda *a: None)
    if args.distinct_wallets:
        make_wallets_distinct(schema)
    cookies = open_sessions(schema, args.streams, extra=1)  # the last one: the sync workers' requests
    cookies, request_cookie = cookies[:-1], cookies[-1]
    port = free_port()
    servers = contextlib.ExitStack()
    ratios = {}
    if args.requests:
        from .server import Workers, serve

        workers = Workers(2, "sync", 1)  # the production command's
        bare_url = servers.enter_context(serve("bench.bare_app:create_app()", workers))
        app_url = servers.enter_context(serve("dashboard:create_app()", workers, env=bench_schema.app_environment(schema)))
        ratios["before the streams open"] = request_ratio(bare_url, app_url, request_cookie)
    process = start_stream_process(schema, port, args.processes)
    stop_client = multiprocessing.Event()
    parent, child = multiprocessing.Pipe()
    client = multiprocessing.Process(target=client_main, args=(port, cookies[:1], child, stop_client), daemon=True)
    try:
        # One stream first: the process's memory with the app, the feed and its first figures.
        client.start()
        parent.recv()
        baseline = resident_bytes(process.pid)
        stop_client.set()
        parent.recv()
        client.join()
        stop_client = multiprocessing.Event()
        client = multiprocessing.Process(target=client_main, args=(port, cookies, child, stop_client), daemon=True)
        started = time.monotonic()
        client.start()
        _kind, open_count, errors = parent.recv()
        opening = time.monotonic() - started
        time.sleep(2)
        resident = resident_bytes(process.pid)
        if args.requests:
            ratios[f"while {open_count:,} streams are open"] = request_ratio(bare_url, app_url, request_cookie)
        commits: dict[str, float] = {}
        stop = threading.Event()
        cpu_before, client_before = _cpu_seconds(process.pid), _cpu_seconds(client.pid)
        tick(schema, args.seconds, commits, stop)
        cpu_seconds = _cpu_seconds(process.pid) - cpu_before
        client_seconds = _cpu_seconds(client.pid) - client_before
        healths = health(port, args.processes, until=time.monotonic() + 30)
        time.sleep(CATCH_UP_SECONDS)
        if args.requests:
            # Again with the streams busy: the stream processes take their share of the cores.
            ticking = threading.Thread(target=tick, args=(schema, 600, {}, stop), daemon=True)
            ticking.start()
            ratios[f"while {open_count:,} streams are open and rates tick 5×/s"] = request_ratio(bare_url, app_url, request_cookie)
            stop.set()
            ticking.join()
        stop_client.set()
        _kind, received = parent.recv()
        client.join(timeout=30)
    finally:
        stop_client.set()
        if client.is_alive():
            client.terminate()
        stop_process(process)
        servers.close()
    delays, dropped, ticks = measure(received, commits)
    events = sum(sum(1 for moment, _at in moments if moment in commits) for moments, _ended, _error in received)
    per_stream = (resident - baseline) / max(1, args.streams - 1)
    wallets = "every wallet distinct" if args.distinct_wallets else "7 wallets among the accounts"
    print(f"bench.streams: {args.streams} streams on {args.processes} stream process{'es' if args.processes > 1 else ''} "
          f"(schema {schema}, {wallets}), "
          f"{open_count} open after {opening:.1f} s{'; first errors: ' + '; '.join(errors) if errors else ''}")
    print(f"rates ticking {TICKS_PER_SECOND}×/s for {args.seconds:g} s: {ticks} ticks, "
          f"{len(delays)} tick deliveries measured; CPU: stream processes {cpu_seconds / args.seconds:.0%} of a core, "
          f"client {client_seconds / args.seconds:.0%}; streams per process "
          f"{', '.join(str(said['streams']) for said in healths)}; figures made "
          f"{sum(said['figures_made'] for said in healths):,}, last rounds "
          f"{', '.join(format(1000 * said['last_round_seconds'], '.0f') for said in healths)} ms; "
          f"load average {os.getloadavg()[0]:.1f}")
    if events:
        print(f"events received during the ticking: {events:,}, {events / args.seconds:,.0f}/s; the stream processes' CPU "
              f"per event sent {1e6 * cpu_seconds / events:,.0f} µs (their rounds, fan-out and sends)")
    print()
    print("| streams | ticks | p50 ms | p99 ms | max ms | dropped | memory per stream |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    if delays:
        print(f"| {args.streams:,} | {ticks} | {1000 * percentile(delays, 0.50):,.0f} | {1000 * percentile(delays, 0.99):,.0f} "
              f"| {1000 * max(delays):,.0f} | {dropped} | {per_stream / 1024:,.1f} KiB |")
    else:
        print(f"| {args.streams:,} | {ticks} | — | — | — | {dropped} | {per_stream / 1024:,.1f} KiB |")
    if ratios:
        print("\nThe sync workers (gunicorn, 2 sync workers, wrk 16 connections, best of 3 rounds of 3 s), /api/balance:\n")
        print("| | bare req/s | `/api/balance` req/s | vs bare |")
        print("|---|---:|---:|---:|")
        for name, (bare, balance, ratio) in ratios.items():
            print(f"| {name} | {bare:,.0f} | {balance:,.0f} | {ratio:.0%} |")
    met = bool(delays) and percentile(delays, 0.99) < 1.0 and dropped == 0
    print(f"\ntarget p99 < 1 s and no stream dropped: {'met' if met else 'NOT met'}")


def _cpu_seconds(pid: int) -> float:
    """CPU of pid and its descendants (running ones; a stream process lives through the run)."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
