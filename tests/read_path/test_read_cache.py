"""The read cache: a signed-in request sends no SQL while nothing changed, and every change,
whoever makes it, is seen; when in doubt (no feed), nothing is cached."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests_support import count_queries, wait_until

from dashboard.read_path.change_feed import EVERYTHING
from dashboard.read_path.read_cache import NoCache, ReadCache, _writes_watched_table

# LISTEN/NOTIFY is PostgreSQL's: these run there only (the backend fixture, overridden);
# SQLite is tested for having no cache.
on_postgresql = pytest.mark.parametrize("backend", ["postgresql"])
on_sqlite = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def feed(app):
    return app.extensions["dashboard_change_feed"]


@pytest.fixture
def elsewhere(app):
    """Another process's connection: its writes reach this app only through the database."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


def warm(signed_in, feed, path="/api/balance"):
    signed_in.get(path)
    wait_until(lambda: feed.listening, "the feed listening")
    signed_in.get(path)  # read while listening: now cached


def jpy_available(signed_in) -> Decimal:
    data = signed_in.get("/api/balance").get_json()
    return Decimal(next(row for row in data["balances"] if row["currency"] == "jpy")["available"])


@on_sqlite
def test_sqlite_caches_while_nothing_was_committed(app, signed_in):
    assert isinstance(app.extensions["dashboard_read_cache"], ReadCache)
    signed_in.get("/api/balance")
    signed_in.get("/")  # the page's charts are drawn once from the history, then kept with the figures
    with count_queries(app) as statements:
        assert signed_in.get("/api/balance").status_code == 200
        assert signed_in.get("/").status_code == 200
    assert statements == []  # SQLite was asked only `PRAGMA data_version`, on its own connection


@on_sqlite
def test_sqlite_sees_a_commit_by_another_process_on_the_next_request(app, signed_in):
    import sqlite3

    before = jpy_available(signed_in)
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with sqlite3.connect(path) as other:  # not the app's engine: only the file can tell
        other.execute(
            "UPDATE balances SET available = ? WHERE currency_code = 'jpy' "
            "AND account_id = (SELECT id FROM accounts WHERE email = 'demo@example.com')", (str(before + 1),))
    assert jpy_available(signed_in) == before + 1  # at once: asked before every lookup, no waiting


@on_sqlite
def test_sqlite_sees_the_apps_own_write_at_once(app, signed_in):
    assert signed_in.get("/api/balance").get_json()["show_in_header"] is True
    assert signed_in.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    assert signed_in.get("/api/balance").get_json()["show_in_header"] is False


def test_an_in_memory_sqlite_database_is_not_cached():
    from conftest import make_app

    app = make_app("sqlite://")
    assert isinstance(app.extensions["dashboard_read_cache"], NoCache)


def test_turned_off_by_configuration(backend, database_urls):
    from conftest import make_app

    app = make_app(database_urls(backend), READ_CACHE_SECONDS=0)
    assert isinstance(app.extensions["dashboard_read_cache"], NoCache)


@on_postgresql
@pytest.mark.parametrize("path", ["/api/balance", "/"])
def test_a_repeated_request_sends_no_sql(app, feed, signed_in, path):
    warm(signed_in, feed, path)
    with count_queries(app) as statements:
        assert signed_in.get(path).status_code == 200
    assert statements == []


@on_postgresql
def test_a_balance_changed_by_another_process_is_seen(app, feed, signed_in, elsewhere):
    warm(signed_in, feed)
    before = jpy_available(signed_in)
    with elsewhere.begin() as connection:
        connection.execute(text(
            "UPDATE balances SET available = available + 1 WHERE currency_code = 'jpy' "
            "AND account_id = (SELECT id FROM accounts WHERE email = 'demo@example.com')"
        ))
    wait_until(lambda: jpy_available(signed_in) == before + 1, "the new JPY balance")


@on_postgresql
def test_a_rate_changed_by_another_process_is_seen(app, feed, signed_in, elsewhere):
    warm(signed_in, feed)
    with elsewhere.begin() as connection:
        connection.execute(text("UPDATE rates SET jpy_rate = 123.456 WHERE currency_code = 'xem'"))

    def xem_rate():
        rows = signed_in.get("/api/balance").get_json()["balances"]
        return next(row for row in rows if row["currency"] == "xem")["rate_jpy"]

    wait_until(lambda: xem_rate() == "123.456", "the new XEM rate")


@on_postgresql
def test_a_truncated_table_is_seen(app, feed, signed_in, elsewhere):
    warm(signed_in, feed)
    with elsewhere.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # past the journal's guards
        connection.execute(text("TRUNCATE balances"))
        connection.execute(text("SET LOCAL session_replication_role = origin"))
        connection.execute(text("TRUNCATE rates"))  # fires its own trigger

    wait_until(lambda: signed_in.get("/api/balance").get_json()["complete"] and jpy_available(signed_in) == 0, "the empty wallet")


@on_postgresql
def test_sign_out_from_elsewhere_ends_the_cached_session(app, feed, signed_in, elsewhere):
    warm(signed_in, feed)
    with elsewhere.begin() as connection:
        connection.execute(text("DELETE FROM login_sessions"))
    wait_until(lambda: signed_in.get("/api/balance").status_code == 401, "the session refused")


@on_postgresql
def test_settings_changed_here_are_read_back_at_once(app, feed, signed_in):
    warm(signed_in, feed)
    assert signed_in.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    assert signed_in.get("/api/balance").get_json()["show_in_header"] is False  # no waiting


@on_postgresql
def test_losing_the_feed_empties_the_cache_and_stops_caching(app, feed, signed_in, elsewhere):
    warm(signed_in, feed)
    pid, generation = feed.backend_pid, feed.generation
    with elsewhere.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    wait_until(lambda: feed.generation > generation, "the loss noticed")
    # Until it listens again nothing is served from memory; afterwards it caches again.
    wait_until(lambda: feed.listening and feed.backend_pid != pid, "the feed back")
    with count_queries(app) as statements:
        signed_in.get("/api/balance")
    assert len(statements) == 2  # emptied when the feed came back
    with count_queries(app) as statements:
        signed_in.get("/api/balance")
    assert statements == []


class FakeFeed:
    def __init__(self):
        self.generation, self.listening, self.subscribers = 0, True, []

    def subscribe(self, method):
        self.subscribers.append(method)

    def stamp(self):
        return self.generation if self.listening else None

    def unchanged_since(self, stamp):
        return stamp is not None and self.listening and self.generation == stamp

    def publish(self, table, account_id):
        self.generation += 1
        for method in self.subscribers:
            method(table, account_id)


def counting_reader(value):
    calls = []

    def read():
        calls.append(1)
        return value

    return read, calls


def test_a_read_that_raced_a_change_is_not_stored():
    feed = FakeFeed()
    cache = ReadCache(feed, seconds=60, max_sessions=10, max_wallets=10)
    read, calls = counting_reader(("rows",))

    def racing_read():
        feed.publish("balances", 7)  # heard while the read was in flight
        return read()

    assert cache.wallet(7, racing_read) == ("rows",)
    assert cache.wallet(7, read) == ("rows",) and len(calls) == 2  # read again, not from memory
    assert cache.wallet(7, read) == ("rows",) and len(calls) == 2  # now cached


def test_nothing_is_stored_while_the_feed_is_not_listening():
    feed = FakeFeed()
    feed.listening = False
    cache = ReadCache(feed, seconds=60, max_sessions=10, max_wallets=10)
    read, calls = counting_reader(("rows",))
    cache.wallet(1, read)
    cache.wallet(1, read)
    assert len(calls) == 2


def test_changes_evict_only_what_they_touch():
    feed = FakeFeed()
    cache = ReadCache(feed, seconds=60, max_sessions=10, max_wallets=10)
    for account in (1, 2):
        cache.wallet(account, lambda: ("rows",))
        cache.signed_in(f"token-{account}", lambda account=account: (account, "a@example.com"))
    read, calls = counting_reader(("new",))
    feed.publish("balances", 1)
    assert cache.wallet(1, read) == ("new",) and cache.wallet(2, read) == ("rows",)
    feed.publish("login_sessions", 2)
    assert cache.signed_in("token-2", read) == ("new",) and cache.signed_in("token-1", read) == (1, "a@example.com")
    feed.publish("rates", EVERYTHING)
    assert cache.wallet(2, read) == ("new",)
    feed.publish(EVERYTHING, EVERYTHING)
    assert cache.signed_in("token-1", read) == ("new",)


@pytest.mark.parametrize(
    "statement, watched",
    [
        ("INSERT INTO balances (account_id) VALUES (1)", True),
        ("  update accounts SET show_net_assets_in_header = false", True),
        ("DELETE FROM login_sessions WHERE token_hash = %(h)s", True),
        ("TRUNCATE rates", True),
        ('TRUNCATE TABLE "currencies"', True),
        ("INSERT INTO accounts_archive VALUES (1)", False),
        ("SELECT * FROM balances", False),
        ("UPDATE api_keys SET last_nonce = 5", False),
        ("INSERT INTO journal_entries (account_id, reason) VALUES (1, 'accounts balances')", False),
    ],
)
def test_which_statements_drop_the_cache_before_commit(statement, watched):
    assert _writes_watched_table(statement) is watched


def test_sessions_of_a_changed_account_are_found_without_a_scan_even_after_turnover():
    feed = FakeFeed()
    cache = ReadCache(feed, seconds=60, max_sessions=2, max_wallets=2)
    for n in range(7):  # more than the cache holds: the LRU drops some, the index is rebuilt
        cache.signed_in(f"token-{n}", lambda n=n: (n % 2, f"a{n}@example.com"))
    read, calls = counting_reader((1, "fresh@example.com"))
    assert cache.signed_in("token-5", read) == (1, "a5@example.com") and not calls  # still cached
    feed.publish("login_sessions", 1)
    assert cache.signed_in("token-5", read) == (1, "fresh@example.com") and len(calls) == 1
    assert cache.signed_in("token-6", lambda: pytest.fail("account 0's session was evicted")) == (0, "a6@example.com")


def test_a_commit_during_a_read_on_sqlite_is_not_stored_and_does_not_hang(tmp_path):
    """SQLite's feed finds changes while asked, and tells the cache at once: asked under the
    cache's lock, as the store is, it must not wait on that lock itself (a worker hung there
    when a rate tick landed during a read)."""
    import sqlite3
    import threading

    from dashboard.read_path.sqlite_feed import SqliteDataVersion

    path = tmp_path / "feed.sqlite3"
    with sqlite3.connect(path) as writer:
        writer.execute("CREATE TABLE rates (code TEXT, rate TEXT)")
    cache = ReadCache(SqliteDataVersion(str(path)), seconds=60, max_sessions=10, max_wallets=10)
    read, calls = counting_reader(("rows",))

    def racing_read():
        with sqlite3.connect(path) as other:  # another process's tick, committed while the read is in flight
            other.execute("INSERT INTO rates VALUES ('btc', '1')")
        return read()

    answers = []
    reader = threading.Thread(target=lambda: answers.append(cache.wallet(7, racing_read)), daemon=True)
    reader.start()
    reader.join(timeout=10)  # a bound on a hang, not a timing assertion
    assert not reader.is_alive(), "the read hung on the cache's own lock"
    assert answers == [("rows",)]
    assert cache.wallet(7, read) == ("rows",) and len(calls) == 2  # read again, not from memory
    assert cache.wallet(7, read) == ("rows",) and len(calls) == 2  # now cached
