"""The fault drills' stage: a PostgreSQL cluster of the drill's own (initdb and pg_ctl in a
temporary folder, on a free port, so stopping it disturbs nobody), a Redis of its own, the app
under gunicorn as in production (gunicorn.conf.py, production settings, `flask db upgrade` first)
and a few signed-in clients asking for the wallet all along, whose every answer is recorded.

A missing tool (pg_config, initdb, pg_ctl, redis-server, gunicorn) fails the drill: a drill that
skips proves nothing."""
from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demopass"
# The request timeout the drills hold the app to: gunicorn kills a worker stuck this long, and
# the clients give up after it, so a hang shows as an answer that never came.
WORKER_TIMEOUT = 15
STATEMENT_TIMEOUT_MS = 3000
METRICS_TOKEN = secrets.token_urlsafe(24)


def require(tool: str, where: str | None = None) -> str:
    path = shutil.which(tool, path=where) if where else shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is not installed{' in ' + where if where else ''}: the fault drills need it "
                    "(Debian: postgresql, redis-server)", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(*command: str) -> list[str]:
    """initdb and the server refuse to run as root: as the postgres user, when we are root."""
    if os.geteuid() == 0:
        return [require("runuser"), "-u", "postgres", "--", *command]
    return list(command)


class Cluster:
    """A throw-away PostgreSQL server: initdb, start, stop (fast or immediate), start again."""

    def __init__(self):
        pg_config = require("pg_config")
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        self.initdb, self.pg_ctl = require("initdb", bindir), require("pg_ctl", bindir)
        # Not under pytest's own temporary folder: its parents are private to root.
        self.root = Path(tempfile.mkdtemp(prefix="dashboard-drill-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")

    def _run(self, *command: str) -> None:
        result = subprocess.run(as_postgres(*command), capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {result.stdout}{result.stderr}\n"
                               f"{self.log.read_text() if self.log.exists() else ''}")

    def start(self, tcp: bool = True) -> None:
        """tcp=False: the Unix socket only, which the app does not use: the database is up for
        the drill's own SQL and still down for the app."""
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses={'127.0.0.1' if tcp else chr(39) * 2} "
                        "-c max_connections=60")

    def stop(self, mode: str = "fast") -> None:
        """fast: every session is ended, as in a planned restart; immediate: the server dies, as in a crash."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self):
        self.binary = require("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Production settings (no DASHBOARD_ENV): real keys, JSON logs, Redis for the throttles."""
    from cryptography.fernet import Fernet

    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DASHBOARD_", "DATABASE_", "RATELIMIT_", "PROMETHEUS_"))}
    env.update(DATABASE_URL=database_url, RATELIMIT_STORAGE_URI=redis_url, SECRET_KEY=secrets.token_hex(32),
               API_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode(), LOG_FORMAT="json",
               # Many clients sign in from one address at once: the drills are not about throttling.
               LOGIN_LIMIT="10000 per minute", PYTHONPATH=str(REPO),
               DATABASE_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS), METRICS_TOKEN=METRICS_TOKEN)
    env.update(extra)
    return env


class Gunicorn:
    """The app as production serves it: gunicorn with the repository's gunicorn.conf.py."""

    def __init__(self, env: dict[str, str], workdir: Path, workers: int = 2):
        try:
            import gunicorn  # noqa: F401
        except ImportError:
            pytest.fail("gunicorn is not installed: the fault drills serve the app with it", pytrace=False)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.metrics_dir = workdir / "metrics"
        self.metrics_dir.mkdir(exist_ok=True)
        self.log_path = workdir / "gunicorn.log"
        self.env = dict(env, WEB_CONCURRENCY=str(workers), PORT=str(self.port), WORKER_TIMEOUT=str(WORKER_TIMEOUT),
                        GRACEFUL_TIMEOUT="5", PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir))
        self.workers_wanted = workers
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(REPO / "gunicorn.conf.py"),
                                             "--bind", f"127.0.0.1:{self.port}"],
                                            cwd=REPO, env=self.env, stdout=log_file, stderr=log_file)
        self.wait_for_workers(60)

    def worker_pids(self) -> set[int]:
        pids = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    # The parent's pid is the 4th field, after the name in parentheses.
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.process.pid and fields[0] != "Z":
                        pids.add(int(entry.name))
        return pids

    def wait_for_workers(self, seconds: float) -> set[int]:
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                pytest.fail("gunicorn stopped:\n" + self.log_path.read_text()[-5000:], pytrace=False)
            pids = self.worker_pids()
            if len(pids) >= self.workers_wanted:
                with contextlib.suppress(OSError):
                    if request(self.base, "/healthz", timeout=5).status == 200:
                        return pids
            if time.monotonic() > deadline:
                pytest.fail("gunicorn's workers did not come up:\n" + self.log_path.read_text()[-5000:], pytrace=False)
            time.sleep(0.1)

    def worker_with_port(self, local_port: int) -> int | None:
        """The worker whose TCP connection leaves from local_port (a database backend's client_port)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                        inodes.add(f"socket:[{fields[9]}]")
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(fd) in inodes:
                            return pid
        return None

    def served_by(self, pid: int) -> float:
        """Requests a worker has counted in its own metrics file (prometheus_client's multiprocess mode)."""
        from prometheus_client.multiprocess import MultiProcessCollector

        path = self.metrics_dir / f"counter_{pid}.db"
        if not path.exists():
            return 0
        return sum(sample.value for metric in MultiProcessCollector.merge([str(path)]) for sample in metric.samples
                   if sample.name == "dashboard_http_requests_total")

    def metric(self, name: str) -> float:
        """A metric's value added up across the workers, from /metrics (0 when absent)."""
        answer = request(self.base, "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert answer.status == 200, answer
        return sum(float(line.rsplit(" ", 1)[1]) for line in answer.body.decode().splitlines()
                   if line.startswith(name + " ") or line.startswith(name + "{"))

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGQUIT: the quick shutdown; the graceful one (SIGTERM) is tested elsewhere
            # (tests/operations/test_metrics.py, scripts/image-check.sh).
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused or reset, or the client's timeout)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""
    cookies: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


def request(base: str, path: str, *, method: str = "GET", cookie: str = "", body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = WORKER_TIMEOUT) -> Answer:
    """One request on a fresh connection (gunicorn's sync workers close each one)."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    all_headers = {"Accept-Language": "en", **(headers or {})}
    if cookie:
        all_headers["Cookie"] = cookie
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, response.read(),
                      cookies=response.msg.get_all("Set-Cookie") or [])
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()


class Browser:
    """A signed-in customer: the session cookie and the page's CSRF token."""

    def __init__(self, base: str, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD):
        self.base = base
        self.cookies: dict[str, str] = {}
        page = self.get("/login")
        assert page.status == 200, page
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()
        answer = self.post_form("/login", {"email": email, "password": password, "csrf_token": token})
        assert answer.status == 302, answer
        wallet = self.get("/")
        assert wallet.status == 200, wallet
        self.csrf = re.search(rb'<meta name="csrf-token" content="([^"]+)"', wallet.body).group(1).decode()

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def send(self, path: str, **options) -> Answer:
        answer = request(self.base, path, cookie=self.cookie, **options)
        for line in answer.cookies:
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return answer

    def get(self, path: str, **options) -> Answer:
        return self.send(path, **options)

    def post_form(self, path: str, fields: dict[str, str], **options) -> Answer:
        return self.send(path, method="POST", body=urllib.parse.urlencode(fields).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, **options)

    def post_json(self, path: str, payload, **options) -> Answer:
        return self.send(path, method="POST", body=json.dumps(payload).encode(),
                         headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf}, **options)


@dataclass
class Sample:
    started: float
    ended: float
    path: str
    answer: Answer

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class Load:
    """Signed-in clients asking for the wallet page and its API in turn, all along, each answer
    kept; a path "POST /api/preferences" writes a switch instead."""

    PATHS = ("/api/balance", "/", "/api/history?range=1d", "/activity")

    def __init__(self, browsers: list[Browser], paths=PATHS, pause: float = 0.02):
        self.browsers, self.paths, self.pause = browsers, paths, pause
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(browser, number), daemon=True)
                         for number, browser in enumerate(browsers)]

    def _run(self, browser: Browser, number: int) -> None:
        turn = number
        while not self._stop.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            started = time.monotonic()
            if path.startswith("POST "):  # a write: one of the wallet's switches, turned each time
                answer = browser.post_json(path.removeprefix("POST "), {"hide_small_balances": turn % 2 == 0})
            else:
                answer = request(browser.base, path, cookie=browser.cookie)
            with self._lock:
                self.samples.append(Sample(started, time.monotonic(), path, answer))
            time.sleep(self.pause)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(WORKER_TIMEOUT + 5)

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)


class Commands:
    """The operator's `flask` commands against the cluster, run in this process (a Python start
    less each: the machine is shared); the compensation drill runs the ones it kills as processes."""

    def __init__(self, database_url: str):
        from dashboard import create_app

        self.app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})

    def __call__(self, *arguments: str):
        from dashboard.extensions import db

        try:
            return self.app.test_cli_runner().invoke(args=list(arguments))
        finally:
            with self.app.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()

    def seed_demo(self) -> None:
        """The demo account, its balances and rates, written by the app's own ledger code."""
        from dashboard.ledger.demo import seed_demo

        with self.app.app_context():
            seed_demo()
        self("--help")  # only to close the connections


@dataclass
class Stage:
    cluster: Cluster
    redis: RedisServer
    server: Gunicorn
    env: dict[str, str]
    workdir: Path
    flask: Commands

    def sql(self, statement: str, parameters=None, *, autocommit: bool = True):
        import psycopg

        with psycopg.connect(f"host={self.cluster.root} port={self.cluster.port} user=postgres dbname=postgres",
                             autocommit=autocommit, connect_timeout=5) as connection:
            cursor = connection.execute(statement, parameters)
            return cursor.fetchall() if cursor.description else None


@contextlib.contextmanager
def account_row_locked(stage: Stage, email: str = DEMO_EMAIL):
    """Another connection holds the account's row (SELECT … FOR UPDATE) until the block ends:
    whatever writes it waits, as behind a long transaction or a migration."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={stage.cluster.port} user=postgres dbname=postgres",
                         connect_timeout=5) as connection:
        connection.execute("SELECT id FROM accounts WHERE email = %s FOR UPDATE", (email,))
        yield connection
        connection.rollback()


def waiting_backends(stage: Stage) -> list[tuple[int, int]]:
    """(backend pid, client port) of every session waiting for a lock."""
    return [(pid, port) for pid, port in stage.sql(
        "SELECT pid, client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")]


def make_stage(workdir: Path, workers: int = 2, **env_extra: str) -> Stage:
    cluster = Cluster()
    redis = RedisServer()
    try:
        cluster.start()
        redis.start()
        env = production_env(cluster.url, redis.url, **env_extra)
        flask = Commands(cluster.url)
        migrated = flask("db", "upgrade")
        assert migrated.exit_code == 0, migrated.output
        flask.seed_demo()
        server = Gunicorn(env, workdir, workers=workers)
    except BaseException:
        redis.kill()
        cluster.destroy()
        raise
    return Stage(cluster, redis, server, env, workdir, flask)


def tear_down(stage: Stage) -> None:
    stage.server.stop()
    stage.redis.kill()
    stage.cluster.destroy()


@pytest.fixture(scope="session")
def shared_stage(tmp_path_factory):
    """One stage for every drill in this process (each xdist worker builds its own): the set-up
    is most of a drill's cost on a shared machine."""
    stage = make_stage(tmp_path_factory.mktemp("drill"))
    yield stage
    tear_down(stage)


@pytest.fixture
def stage(shared_stage, tmp_path_factory):
    """The shared stage, one drill at a time across xdist's workers (each builds its own stage,
    but two drills restarting and stalling things at once on a small machine would measure each
    other), and put back up after each drill: a database or a Redis a failed drill left down
    would fail the next one for the wrong reason. Each drill restores what it changed."""
    # The parent of this worker's temporary folder is the run's, shared by its workers.
    with (tmp_path_factory.getbasetemp().parent / "drills.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared_stage
        restore(shared_stage)


def restore(shared_stage: Stage) -> None:
    """The database (by TCP) and Redis up again, as the next drill expects them."""
    import psycopg

    if shared_stage.redis.process is None or shared_stage.redis.process.poll() is not None:
        shared_stage.redis.start()
    try:  # by TCP, as the app connects
        psycopg.connect(f"host=127.0.0.1 port={shared_stage.cluster.port} user=postgres dbname=postgres",
                        connect_timeout=5).close()
    except psycopg.Error:  # down, or up on its Unix socket alone
        with contextlib.suppress(RuntimeError):
            shared_stage.cluster.stop("fast")
        shared_stage.cluster.start()


def report(title: str, figures: dict[str, object]) -> None:
    """Each drill's figures on stdout (pytest -s shows them), one line each, for the closing note."""
    print(f"\n[drill] {title}: " + ", ".join(f"{name} {value}" for name, value in figures.items()), flush=True)
