"""The routing rules without a server: each replica's own position against what the browser and
the account need (GitLab's bug #413203 was ending the sticking when any one replica caught up),
the write positions' bounds, the read cache against the browser's last write, the settings."""
from __future__ import annotations

import pytest
from flask import Flask, g, session
from sqlalchemy.exc import OperationalError

from dashboard.config import ConfigurationError, check_replicas, replica_urls
from dashboard.read_path import replicas
from dashboard.read_path.read_cache import ReadCache
from dashboard.read_path.write_positions import WritePositions, format_lsn, parse_lsn


class FakeResult:
    def __init__(self, row):
        self._row = row

    def one(self):
        return self._row


class FakeConnection:
    def __init__(self, replica):
        self.replica = replica

    def execute(self, statement):
        if self.replica.down:
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        self.replica.asked += 1
        return FakeResult((True, format_lsn(self.replica.replayed), self.replica.lag))

    def close(self):
        pass

    def invalidate(self):
        pass


class FakeEngine:
    """A replica as the router sees it: its replay position and lag, reachable or not."""

    def __init__(self, name, replayed, lag=0.0):
        self.name, self.replayed, self.lag, self.down, self.asked = name, replayed, lag, False, 0

    def dispose(self):
        pass

    def connect(self):
        if self.down:
            raise OperationalError("connect", {}, Exception("connection refused"))
        return FakeConnection(self)


class ListeningFeed:
    def stamp(self):
        return 0


@pytest.fixture
def context():
    app = Flask(__name__)
    app.secret_key = "x" * 32
    with app.test_request_context():
        yield


def router_with(*engines, max_lag=10.0):
    positions = WritePositions()
    positions.wrote_everything(100)
    return replicas.ReplicaRouter([replicas.Replica(engine.name, engine) for engine in engines], ListeningFeed(),
                                  positions, max_lag=max_lag), positions


def primary():
    return "primary"


def where(connection):
    return connection if connection == "primary" else connection.replica.name


def read_in_a_new_request(router, account_id=None):
    g.pop("read_pin", None)
    g.pop("replica_connections", None)
    return router.read(account_id, where, primary)


def test_each_replica_is_checked_against_the_position_the_read_needs(context):
    behind, caught_up = FakeEngine("behind", replayed=150), FakeEngine("caught-up", replayed=300)
    router, positions = router_with(behind, caught_up)
    positions.wrote([7], 200)
    for _ in range(6):  # whichever replica a request starts with
        assert read_in_a_new_request(router, 7) == ("caught-up", 300)
    # Another account, written before both replicas' positions: either may answer.
    assert {read_in_a_new_request(router, 8)[0] for _ in range(4)} == {"behind", "caught-up"}


def test_sticking_does_not_end_because_some_other_replica_caught_up(context):
    """GitLab #413203: one replica caught up ended the sticking for all. Here the caught-up one
    is unreachable, and the one behind is never used for the account: the primary answers."""
    behind, caught_up = FakeEngine("behind", replayed=150), FakeEngine("caught-up", replayed=300)
    router, positions = router_with(behind, caught_up)
    positions.wrote([7], 200)
    assert read_in_a_new_request(router, 7)[0] == "caught-up"
    caught_up.down = True
    router.replicas[1].checked_at = 0.0  # asked again: unreachable
    for _ in range(4):
        assert read_in_a_new_request(router, 7) == ("primary", 200)


def test_the_browsers_last_write_is_waited_for_on_every_replica(context):
    one, two = FakeEngine("one", replayed=250), FakeEngine("two", replayed=400)
    router, _positions = router_with(one, two)
    session[replicas.SESSION_KEY] = format_lsn(300)
    for _ in range(4):
        assert read_in_a_new_request(router)[0] == "two"
    session[replicas.SESSION_KEY] = format_lsn(500)
    assert read_in_a_new_request(router) == ("primary", 500)


def test_a_lagging_replica_is_not_read_even_when_it_has_the_position(context):
    slow = FakeEngine("slow", replayed=1000, lag=30.0)
    router, _positions = router_with(slow, max_lag=10.0)
    assert read_in_a_new_request(router)[0] == "primary"


def test_an_unreachable_replica_is_left_alone_and_the_primary_answers(context):
    gone = FakeEngine("gone", replayed=1000)
    gone.down = True
    router, _positions = router_with(gone)
    assert read_in_a_new_request(router)[0] == "primary"
    assert router.replicas[0].down_until > 0
    gone.down = False
    assert read_in_a_new_request(router)[0] == "primary"  # not tried again at once
    router.replicas[0].down_until = 0.0  # RETRY_SECONDS later
    assert read_in_a_new_request(router)[0] == "gone"


def test_a_requests_reads_do_not_go_back_in_time(context):
    """Once a request has read from the primary, its later reads do too; once from a replica,
    from that replica: a history's version and its points never come from two places."""
    one = FakeEngine("one", replayed=150)
    router, positions = router_with(one)
    positions.wrote([7], 200)
    g.pop("read_pin", None)
    assert router.read(7, where, primary)[0] == "primary"
    assert router.read(8, where, primary)[0] == "primary"  # the replica could, but the request stays


def test_without_the_feed_listening_only_the_primary_is_sure(context):
    class Deaf:
        def stamp(self):
            return None

    router, _positions = router_with(FakeEngine("one", replayed=1000))
    router.feed = Deaf()
    assert read_in_a_new_request(router)[0] == "primary"


def test_write_positions_are_kept_in_order_bounded_and_forgotten_once_replayed_everywhere():
    positions = WritePositions(max_accounts=2)
    positions.wrote([1], 10)
    positions.wrote([2], 20)
    assert positions.needed(1) == 10 and positions.needed(2) == 20 and positions.needed(3) == 0
    positions.wrote([3], 30)  # past the bound: the oldest becomes everyone's floor
    assert positions.floor == 10 and positions.needed(1) == 10 and positions.needed(4) == 10
    positions.replayed_everywhere(25)
    assert len(positions) == 1 and positions.needed(2) == 10 and positions.needed(3) == 30
    positions.wrote_everything(40)
    assert positions.needed(3) == 40 and positions.needed(None) == 40 and positions.primary_seen == 40


@pytest.mark.parametrize(("text", "number"), [("0/0", 0), ("0/16B3748", 0x16B3748), ("16/B374D848", (0x16 << 32) + 0xB374D848)])
def test_lsns_read_and_written_as_postgresql_does(text, number):
    assert parse_lsn(text) == number and format_lsn(number) == text


def test_a_cookie_with_an_unreadable_position_counts_as_none():
    assert replicas.position_of({replicas.SESSION_KEY: "not/an-lsn"}) == 0
    assert replicas.position_of({replicas.SESSION_KEY: 12}) == 0
    assert replicas.position_of(None) == 0


class StubFeed:
    listening, generation = True, 0

    def subscribe(self, method):
        pass

    def stamp(self):
        return self.generation

    def unchanged_since(self, stamp):
        return stamp == self.generation


def test_the_read_cache_does_not_serve_an_entry_older_than_the_browsers_last_write():
    cache = ReadCache(StubFeed(), seconds=60, max_sessions=10, max_wallets=10)
    browser, read_at = [0], [100]
    cache.follow_positions(lambda: browser[0], lambda: read_at[0])
    reads = []

    def read():
        reads.append(1)
        return ("rows", len(reads))

    assert cache.wallet(7, read) == ("rows", 1)
    assert cache.wallet(7, read) == ("rows", 1)  # kept
    browser[0] = 150  # the browser wrote at 150; what is kept was read at 100
    read_at[0] = 160
    assert cache.wallet(7, read) == ("rows", 2)  # read afresh
    assert cache.wallet(7, read) == ("rows", 2) and len(reads) == 2  # and that one is new enough


def test_replica_settings_are_checked_at_start():
    assert replica_urls(" postgresql+psycopg://r1/db , postgresql://r2/db ,") == ["postgresql+psycopg://r1/db", "postgresql://r2/db"]
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_URLS"):
        replica_urls("postgresql://r1/db,mysql://r2/db")
    with pytest.raises(ConfigurationError, match="PostgreSQL primary"):
        check_replicas({"DATABASE_REPLICA_URLS": ["postgresql://r1/db"], "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"})
    with pytest.raises(ConfigurationError, match="DATABASE_LISTEN_URL"):
        check_replicas({"SQLALCHEMY_DATABASE_URI": "postgresql://p/db", "DATABASE_LISTEN_URL": "redis://x"})
    check_replicas({"SQLALCHEMY_DATABASE_URI": "postgresql://p/db", "DATABASE_REPLICA_URLS": ["postgresql://r/db"]})


def test_a_bad_replica_setting_stops_the_app(monkeypatch):
    from dashboard import create_app

    monkeypatch.setenv("DATABASE_REPLICA_URLS", "replica1:5432")
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_URLS"):
        create_app({"TESTING": True})
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "")
    monkeypatch.setenv("REPLICA_MAX_LAG_SECONDS", "0")
    with pytest.raises(ConfigurationError, match="REPLICA_MAX_LAG_SECONDS"):
        create_app({"TESTING": True})
