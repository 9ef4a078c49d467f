"""Temporary PostgreSQL clusters of our own: a primary, its streaming replica, and a PgBouncer.

For the replica tests (tests/replicas) and the bench's replica mode (bench/replicas.py): each
cluster is made with the server's own tools (`initdb`, `pg_basebackup -R`, `pg_ctl`, from
`pg_config --bindir`) in a temporary directory on a free port, run as the `postgres` user when
this process is root (PostgreSQL refuses to run as root), and removed when the block ends. The
machine's own server is never touched. A tool that is missing raises: a test must fail, not skip.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
# Quick to start and to stop; nothing here needs to survive a crash of the machine.
SETTINGS = ("fsync=off", "full_page_writes=off", "listen_addresses='127.0.0.1'", "max_connections=100",
            "shared_buffers=32MB", "wal_level=replica", "max_wal_senders=4", "hot_standby=on",
            "wal_receiver_status_interval=1s")


class ClusterError(RuntimeError):
    pass


def bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise ClusterError("pg_config is not on PATH: install PostgreSQL's server package (postgresql)")
    found = Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip())
    for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (found / tool).exists():
            raise ClusterError(f"{found / tool} is missing: install PostgreSQL's server package")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    if result.returncode != 0:
        raise ClusterError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


@dataclass
class Cluster:
    directory: Path
    port: int
    log: Path

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SERVER_USER, dbname=database, autocommit=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory.parent}"
        _as_server_user([str(bindir() / "pg_ctl"), "-D", str(self.directory), "-l", str(self.log), "-o", options, "-w", "start"])

    def stop(self, mode: str = "fast") -> None:
        _as_server_user([str(bindir() / "pg_ctl"), "-D", str(self.directory), "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        return (self.directory / "postmaster.pid").exists()


def _writable_by_server(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER)
    path.chmod(0o700)


@contextmanager
def primary_and_replica(database: str = "dashboard") -> Iterator[tuple[Cluster, Cluster]]:
    """A primary with `database` created, and a hot-standby replica streaming from it."""
    tools = bindir()
    root = Path(tempfile.mkdtemp(prefix="dashboard-replicas-"))
    root.chmod(0o755)
    _writable_by_server(root)
    primary = Cluster(root / "primary", free_port(), root / "primary.log")
    replica = Cluster(root / "replica", free_port(), root / "replica.log")
    started: list[Cluster] = []
    try:
        _as_server_user([str(tools / "initdb"), "-D", str(primary.directory), "-A", "trust", "-U", SERVER_USER,
                         "--no-sync", "-E", "UTF8", "--locale", "C"])
        with (primary.directory / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(SETTINGS) + "\n")
        primary.start()
        started.append(primary)
        with primary.connect() as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        _as_server_user([str(tools / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", SERVER_USER,
                         "-D", str(replica.directory), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"])
        replica.start()
        started.append(replica)
        yield primary, replica
    finally:
        for cluster in reversed(started):
            if cluster.running():
                try:
                    cluster.stop("immediate")
                except ClusterError:
                    pass
        shutil.rmtree(root, ignore_errors=True)


def replayed_up_to(replica: Cluster, primary: Cluster, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with primary.connect() as connection:
        target = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with replica.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)).fetchone()[0]:
                return
            time.sleep(0.02)
    raise ClusterError(f"the replica did not replay up to {target} within {timeout:.0f} s")


@contextmanager
def pgbouncer(primary: Cluster, database: str = "dashboard") -> Iterator[int]:
    """PgBouncer in transaction mode in front of the primary's database; yields its port."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if binary is None:
        raise ClusterError("pgbouncer is missing: apt-get install pgbouncer (scripts/test.sh does)")
    root = Path(tempfile.mkdtemp(prefix="dashboard-pgbouncer-"))
    _writable_by_server(root)
    port = free_port()
    (root / "users.txt").write_text(f'"{SERVER_USER}" ""\n')
    (root / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{database} = host=127.0.0.1 port={primary.port} dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {root / 'users.txt'}\nadmin_users = {SERVER_USER}\n"
        "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 200\n"
        f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n")
    for name in ("users.txt", "pgbouncer.ini"):
        _writable_by_server(root / name)
    _as_server_user([binary, "-d", str(root / "pgbouncer.ini")])
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"pgbouncer did not listen on {port}: {(root / 'pgbouncer.log').read_text()[-2000:]}") from None
                time.sleep(0.05)
        yield port
    finally:
        pid_file = root / "pgbouncer.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass
        shutil.rmtree(root, ignore_errors=True)


def pgbouncer_stats(port: int, database: str = "dashboard") -> dict[str, int]:
    """SHOW STATS of the admin console for database (psql: the console speaks only the simple protocol)."""
    psql = bindir() / "psql"
    result = subprocess.run([str(psql), "-h", "127.0.0.1", "-p", str(port), "-U", SERVER_USER, "-d", "pgbouncer",
                             "-A", "-F", "\t", "-c", "SHOW STATS"], capture_output=True, text=True, timeout=30, check=True)
    header, *rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    for row in rows:
        if row[0] == database:
            return {name: int(value) for name, value in zip(header[1:], row[1:], strict=True) if value.lstrip("-").isdigit()}
    raise ClusterError(f"pgbouncer has no statistics for {database}:\n{result.stdout}")
