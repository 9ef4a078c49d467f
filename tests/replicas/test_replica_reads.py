"""The signed-in reads on a real streaming replica, started here (bench/clusters.py: initdb,
pg_basebackup -R, pg_ctl on free ports, as the postgres user): where the reads land is shown by
the replica's own statistics; read-your-writes with the replica's replay paused; a replica
stopped mid-run; a lagging replica left alone; the pools through a real PgBouncer in transaction
mode. A missing PostgreSQL or PgBouncer binary fails these tests (bench/clusters.py raises)."""
from __future__ import annotations

import time

import psycopg
import pytest
from conftest import dispose_engines, empty_tables, make_app, migrate_to_head, sign_in
from tests_support import drop_read_cache, wait_until

from bench import clusters
from dashboard.extensions import db
from dashboard.metrics import REPLICA_READS
from dashboard.read_path import replicas
from dashboard.read_path.change_feed import close_feeds

OTHER_EMAIL, OTHER_PASSWORD = "other@example.com", "otherpass1"


@pytest.fixture(scope="module")
def servers():
    """One primary and its replica for the module (a few seconds to start), migrated once."""
    with clusters.primary_and_replica() as (primary, replica):
        migrate_to_head(primary.url("dashboard"))
        clusters.replayed_up_to(replica, primary)
        yield primary, replica
        # The change feeds of this process would go on calling the stopped clusters.
        close_feeds(lambda conninfo: f":{primary.port}/" in conninfo)


def replica_app(servers, **config):
    primary, replica = servers
    config.setdefault("REPLICA_MAX_LAG_SECONDS", 60)
    return make_app(primary.url("dashboard"), DATABASE_REPLICA_URLS=[replica.url("dashboard")], **config)


@pytest.fixture
def seeded(servers):
    """make(**config): an app on the primary with the replica, the demo account and one more,
    the change feed listening and the replica caught up."""
    made = []

    def make(**config):
        from dashboard.accounts.store import create_account
        from dashboard.ledger.demo import seed_demo

        app = replica_app(servers, **config)
        made.append(app)
        empty_tables(app)
        with app.app_context():
            seed_demo()
            create_account(OTHER_EMAIL, OTHER_PASSWORD)
            db.session.commit()
        feed = app.extensions["dashboard_change_feed"]
        feed.stamp()  # starts it
        wait_until(lambda: feed.listening and feed.positions.floor, "the change feed listening, its position taken")
        clusters.replayed_up_to(servers[1], servers[0])
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            dispose_engines()


def replica_scans(app, replica, table: str) -> int:
    """Index and sequential scans of table on the replica, by its own statistics. The app's
    connections are closed first: a backend reports what it read when it ends."""
    with app.app_context():
        dispose_engines()
    with replica.connect("dashboard") as connection:
        return connection.execute(
            "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE relname = %s",
            (table,)).fetchone()[0]


def scans_reach(app, replica, table: str, at_least: int) -> None:
    wait_until(lambda: replica_scans(app, replica, table) >= at_least, f"{at_least} scans of {table} on the replica")


def reads(target: str) -> float:
    return REPLICA_READS.labels(target)._value.get()  # noqa: SLF001 - the process's own counter


@pytest.fixture
def paused(servers):
    """pause(): the replica stops replaying (it still receives); resumed after the test whatever happens."""
    replica = servers[1]

    def pause():
        with replica.connect() as connection:
            connection.execute("SELECT pg_wal_replay_pause()")
            wait_until(lambda: connection.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused",
                       "the replica's replay paused")

    yield pause
    with replica.connect() as connection:
        connection.execute("SELECT pg_wal_replay_resume()")
    clusters.replayed_up_to(replica, servers[0])


def test_signed_in_reads_land_on_the_replica(seeded, servers):
    app = seeded(READ_CACHE_SECONDS=0)  # every request reads
    replica = servers[1]
    client = app.test_client()
    sign_in(client)
    clusters.replayed_up_to(replica, servers[0])
    balances, journal, sessions = (replica_scans(app, replica, table) for table in ("balances", "journal_entries", "login_sessions"))
    before = reads("replica")
    for _ in range(5):
        assert client.get("/api/balance").status_code == 200
    assert client.get("/activity").status_code == 200
    assert client.get("/api/history?range=1m").status_code == 200
    assert reads("replica") - before >= 5
    scans_reach(app, replica, "balances", balances + 5)          # the wallet's figures
    scans_reach(app, replica, "login_sessions", sessions + 7)   # the session lookup of every request
    scans_reach(app, replica, "journal_entries", journal + 2)   # activity and history


def test_with_replay_paused_a_saved_switch_shows_at_once_and_others_still_read_the_replica(seeded, servers, paused):
    app = seeded()  # the read cache on, as in production
    primary, replica = servers
    demo, other = app.test_client(), app.test_client()
    sign_in(demo)
    sign_in(other, OTHER_EMAIL, OTHER_PASSWORD)
    assert demo.get("/api/balance").json["show_in_header"] is True
    assert other.get("/api/balance").status_code == 200
    clusters.replayed_up_to(replica, primary)
    paused()

    assert demo.post("/api/preferences", json={"show_in_header": False}).status_code == 200
    # The replica has not got it, and cannot until replay resumes...
    with replica.connect("dashboard") as connection:
        assert connection.execute("SELECT show_net_assets_in_header FROM accounts WHERE email = 'demo@example.com'").fetchone()[0] is True
    # ...yet the browser that saved it sees it at once, from the API and on the page.
    assert demo.get("/api/balance").json["show_in_header"] is False
    page = demo.get("/").get_data(as_text=True)
    assert 'name="show_in_header"' in page or "show_in_header" in page
    assert demo.get("/api/balance").json["show_in_header"] is False

    # The other account changed nothing: its wallet is still read from the (paused) replica.
    drop_read_cache(app)
    balances, before = replica_scans(app, replica, "balances"), reads("replica")
    for _ in range(3):
        assert other.get("/api/balance").status_code == 200
        drop_read_cache(app)
    assert reads("replica") - before >= 3
    scans_reach(app, replica, "balances", balances + 3)
    # And the saving browser, its cache dropped too, still gets its own write (from the primary).
    assert demo.get("/api/balance").json["show_in_header"] is False


def test_another_process_that_has_not_heard_of_the_write_does_not_serve_what_it_holds(seeded, servers, paused):
    """A second app stands for a second gunicorn worker, with a change feed of its own (another
    URL of the same database) that has not heard of the write yet (deaf for the test): the
    position in the browser's session cookie keeps it from serving the session it holds."""
    first = seeded()
    primary, replica = servers
    second = make_app(primary.url("dashboard") + "?application_name=second-worker",
                      DATABASE_REPLICA_URLS=[replica.url("dashboard")], REPLICA_MAX_LAG_SECONDS=60)
    second_feed = second.extensions["dashboard_change_feed"]
    assert second_feed is not first.extensions["dashboard_change_feed"]
    second_feed.stamp()
    wait_until(lambda: second_feed.listening and second_feed.positions.floor, "the second worker's feed listening")
    browser = first.test_client()
    sign_in(browser)
    clusters.replayed_up_to(replica, primary)
    other = second.test_client()
    other.set_cookie("session", browser.get_cookie("session").value)
    assert other.get("/api/balance").json["show_in_header"] is True  # the second worker holds it now
    try:
        paused()
        second_feed._heard = lambda payload, position=None: None  # hears nothing from here on
        assert browser.post("/api/preferences", json={"show_in_header": False}).status_code == 200
        other.set_cookie("session", browser.get_cookie("session").value)  # the browser's next request
        assert other.get("/api/balance").json["show_in_header"] is False
    finally:
        del second_feed._heard
        with second.app_context():
            dispose_engines()


def test_with_replay_paused_a_change_made_elsewhere_is_read_from_the_primary(seeded, servers, paused):
    """A trade lands through another program: no cookie of this browser knows of it, the change
    feed does, and the account's next read waits for a replica that has it (here: none)."""
    app = seeded()
    primary, replica = servers
    browser = app.test_client()
    sign_in(browser)
    clusters.replayed_up_to(replica, primary)
    before = browser.get("/api/balance").json
    paused()
    feed = app.extensions["dashboard_change_feed"]
    with app.app_context():
        from dashboard.models import Account

        demo_id = db.session.query(Account.id).filter_by(email="demo@example.com").scalar()
    stuck_before = feed.positions.needed(demo_id)
    with primary.connect("dashboard") as connection:
        connection.execute("UPDATE balances SET available = available + 1 WHERE account_id = %s AND currency_code = 'btc'",
                           (demo_id,))
    wait_until(lambda: feed.positions.needed(demo_id) > stuck_before, "the change feed hearing of the trade")
    after = browser.get("/api/balance").json
    assert after != before  # the new balance, although the replica has not replayed it
    with replica.connect("dashboard") as connection:
        old = connection.execute("SELECT available FROM balances WHERE account_id = %s AND currency_code = 'btc'", (demo_id,))
        with primary.connect("dashboard") as on_primary:
            new = on_primary.execute("SELECT available FROM balances WHERE account_id = %s AND currency_code = 'btc'", (demo_id,))
            assert new.fetchone()[0] == old.fetchone()[0] + 1


def test_a_replica_stopped_mid_run_costs_no_request(seeded, servers):
    app = seeded(READ_CACHE_SECONDS=0)
    primary, replica = servers
    client = app.test_client()
    sign_in(client)
    clusters.replayed_up_to(replica, primary)
    statuses, on_replica = [], reads("replica")
    try:
        for number in range(30):
            if number == 10:
                assert reads("replica") > on_replica  # it was in use
                replica.stop("immediate")
                after_stop = reads("primary") + reads("fallback")
            statuses.append(client.get("/api/balance" if number % 3 else "/activity").status_code)
        assert statuses == [200] * 30
        assert reads("primary") + reads("fallback") - after_stop >= 20  # the primary answered the rest
    finally:
        replica.start()
        clusters.replayed_up_to(replica, primary)


def test_a_read_that_fails_on_the_replica_is_answered_by_the_primary(seeded, servers):
    app = seeded(READ_CACHE_SECONDS=0)
    router = replicas.of(app)
    calls = []

    def run(connection):
        calls.append(connection)
        if len(calls) == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return connection.exec_driver_sql("SELECT pg_is_in_recovery()").scalar()

    from sqlalchemy.exc import OperationalError

    def failing_once(connection):
        try:
            return run(connection)
        except psycopg.OperationalError as error:
            raise OperationalError("SELECT", {}, error) from error

    with app.test_request_context():
        from dashboard.read_path.signed_in import read_connection

        assert replicas.read(None, failing_once, read_connection) is False  # the primary is not in recovery
        assert len(calls) == 2
        assert router.replicas[0].down_until > time.monotonic()  # left alone for a while
        replicas.close_connections()


def test_a_lagging_replica_is_skipped_and_used_again_once_caught_up(seeded, servers, paused):
    app = seeded(READ_CACHE_SECONDS=0, REPLICA_MAX_LAG_SECONDS=1)
    primary, replica = servers
    client = app.test_client()
    sign_in(client)
    clusters.replayed_up_to(replica, primary)
    assert client.get("/api/balance").status_code == 200
    time.sleep(replicas.STATUS_SECONDS + 0.2)  # the last transaction replayed is now over a second old
    paused()
    with primary.connect("dashboard") as connection:  # a write no account's reads wait for
        connection.execute("CREATE TABLE IF NOT EXISTS lag_probe (x int)")
        connection.execute("INSERT INTO lag_probe VALUES (1)")
    with replica.connect() as connection:
        wait_until(lambda: connection.execute("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()").fetchone()[0],
                   "the replica receiving what it does not replay")
    time.sleep(replicas.STATUS_SECONDS)  # the router asks the replica again
    on_replica, on_primary = reads("replica"), reads("primary")
    for _ in range(3):
        assert client.get("/api/balance").status_code == 200
    assert reads("replica") == on_replica and reads("primary") - on_primary >= 3
    assert replicas.of(app).replicas[0].lag_seconds > 1

    with replica.connect() as connection:
        connection.execute("SELECT pg_wal_replay_resume()")
    clusters.replayed_up_to(replica, primary)
    time.sleep(replicas.STATUS_SECONDS)
    assert client.get("/api/balance").status_code == 200
    assert reads("replica") > on_replica  # tried again, and used


def test_pools_through_pgbouncer_in_transaction_mode(servers):
    """DATABASE_URL through PgBouncer (transaction pooling, prepared statements off), the change
    feed's LISTEN straight to the primary (DATABASE_LISTEN_URL): the read cache still works."""
    primary, replica = servers
    with clusters.pgbouncer(primary) as port:
        app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/dashboard", DATABASE_PGBOUNCER=True,
                       DATABASE_LISTEN_URL=primary.url("dashboard"))
        try:
            empty_tables(app)
            with app.app_context():
                from dashboard.ledger.demo import seed_demo

                seed_demo()
                connection = db.engine.connect()
                assert connection.connection.dbapi_connection.prepare_threshold is None
                connection.close()
            before = clusters.pgbouncer_stats(port)["total_xact_count"]
            client = app.test_client()
            sign_in(client)
            # More than psycopg's prepare threshold (5) of each statement: none is prepared.
            for _ in range(12):
                drop_read_cache(app)  # every request reads, through PgBouncer
                assert client.get("/api/balance").status_code == 200
            assert client.post("/api/preferences", json={"show_in_header": False}).status_code == 200
            assert client.get("/api/balance").json["show_in_header"] is False
            assert clusters.pgbouncer_stats(port)["total_xact_count"] - before >= 14
            feed = app.extensions["dashboard_change_feed"]
            wait_until(lambda: feed.listening, "the change feed listening on the primary itself")
        finally:
            with app.app_context():
                db.session.remove()
                dispose_engines()


def test_a_request_that_wrote_reads_the_rest_from_the_primary(seeded, servers, paused):
    """Its own commit is not on the replica yet (replay paused), nor in the cookie until the
    answer goes out: the request's later reads go to the primary."""
    from sqlalchemy import text

    from dashboard.wallet import holdings

    app = seeded(READ_CACHE_SECONDS=0)
    with app.app_context():
        demo_id = db.session.execute(text("SELECT id FROM accounts WHERE email = 'demo@example.com'")).scalar()
    clusters.replayed_up_to(servers[1], servers[0])
    with app.test_request_context():
        before = dict((row[0], row[2]) for row in holdings.wallet_rows(demo_id))
        replicas.close_connections()
    paused()
    with app.test_request_context():
        db.session.execute(text("UPDATE balances SET available = available + 1 WHERE account_id = :id AND currency_code = 'btc'"),
                           {"id": demo_id})
        db.session.commit()
        after = dict((row[0], row[2]) for row in holdings.wallet_rows(demo_id))
        replicas.close_connections()
        db.session.remove()
    assert after["btc"] == before["btc"] + 1
