"""JPY rates: validation, the ticker client against a misbehaving stub server on 127.0.0.1, and
`flask rates set|import|refresh|list` on both databases."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, update

from dashboard.extensions import db
from dashboard.ledger.rates import RateError, Ticker, TickerError, parse_rate, read_rate
from dashboard.models import Currency, Rate

JST = timezone(timedelta(hours=9))

# What the stub answers for each currency: (status, content type, body), or a word for a
# behaviour that is not one fixed answer.
ANSWERS = {
    "ok": (200, "application/json", b'{"rate": "88.549"}'),
    "number": (200, "application/json", b'{"rate": 12345678901234567890.123456789012345678}'),
    "error500": (500, "text/plain", b"Internal Server Error"),
    "html": (200, "text/html", b"<!DOCTYPE html><html><body>Maintenance</body></html>"),
    "negative": (200, "application/json", b'{"rate": "-88.549"}'),
    "zero": (200, "application/json", b'{"rate": 0}'),
    "nan": (200, "application/json", b'{"rate": NaN}'),
    "nan_string": (200, "application/json", b'{"rate": "NaN"}'),
    "infinity": (200, "application/json", b'{"rate": Infinity}'),
    "huge": (200, "application/json", b'{"rate": 1e400}'),
    "empty": (200, "application/json", b""),
    "no_rate": (200, "application/json", b'{"price": "1"}'),
    "not_found": (404, "application/json", b'{"error": "unknown pair"}'),
    "too_precise": (200, "application/json", b'{"rate": "0.0000000000000000001"}'),
}


class StubTicker:
    """The exchange's public API as a test wants it to behave, per currency."""

    def __init__(self):
        self.behaviour: dict[str, str] = {}
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()  # ends the sleep of 'slow' answers at teardown
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                pair = self.path.rsplit("/", 1)[-1]
                currency = pair.removesuffix("_jpy")
                stub.hits[currency] += 1
                behaviour = stub.behaviour.get(currency, "not_found")
                if behaviour == "slow":
                    stub.release.wait(5)
                    behaviour = "ok"
                elif behaviour.startswith("flaky"):  # flaky:N answers 500 N times, then a rate
                    behaviour = "error500" if stub.hits[currency] <= int(behaviour.split(":")[1]) else "ok"
                elif behaviour.startswith("rate:"):
                    status, kind, body = 200, "application/json", json.dumps({"rate": behaviour[5:]}).encode()
                    return self._send(status, kind, body)
                self._send(*ANSWERS[behaviour])

            def _send(self, status, kind, body):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as it should

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits for one.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = StubTicker()
    yield server
    server.close()


def fast_ticker(url, **options):
    """Short timeouts and no real sleeping between attempts: the tests count attempts, not seconds."""
    sleeps = []
    return Ticker(url, **{"timeout": 0.3, "attempts": 3, "backoff": 0.5, "sleep": sleeps.append, **options}), sleeps


# --- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("88.549", "88.549"),
    (" 1050000 ", "1050000"),
    (Decimal("90.500"), "90.5"),
    (7, "7"),
    ("0.000000000000000001", "0.000000000000000001"),
    ("1.5e3", "1500"),
    ("9999999999999999999999", "9999999999999999999999"),  # 22 integer digits
])
def test_valid_rates_are_exact(given, expected):
    rate = parse_rate(given)
    assert isinstance(rate, Decimal) and rate == Decimal(expected) and format(rate, "f") == expected


@pytest.mark.parametrize("given, message", [
    (88.549, "exact decimal"),
    (True, "exact decimal"),
    ("-1", "greater than 0"),
    ("0", "greater than 0"),
    (Decimal("-0"), "greater than 0"),
    ("NaN", "not a decimal number"),
    ("Infinity", "not a decimal number"),
    (Decimal("NaN"), "finite"),
    (Decimal("Infinity"), "finite"),
    ("1e400", "too large"),
    (Decimal("1E+400"), "too large"),
    ("10000000000000000000000", "too large"),  # 23 integer digits
    ("0.0000000000000000001", "decimal places"),
    ("", "not a decimal number"),
    ("1,000", "not a decimal number"),
    ("1_000", "not a decimal number"),
    ("١٢", "not a decimal number"),
    (None, "must be a number"),
    ([1], "must be a number"),
])
def test_invalid_rates_are_refused(given, message):
    with pytest.raises(RateError, match=message):
        parse_rate(given)


@pytest.mark.parametrize("name", ["html", "negative", "zero", "nan", "nan_string", "infinity", "huge", "empty", "no_rate", "too_precise"])
def test_read_rate_refuses_every_wrong_answer(name):
    with pytest.raises(RateError):
        read_rate(ANSWERS[name][2])


def test_json_numbers_are_read_as_decimals_never_floats():
    assert read_rate(ANSWERS["number"][2]) == Decimal("12345678901234567890.123456789012345678")
    assert read_rate(b'{"rate": 0.1}') == Decimal("0.1")


# --- the ticker client ------------------------------------------------------------------

def test_ticker_reads_a_rate_from_the_documented_path(stub):
    stub.behaviour["xem"] = "ok"
    ticker, sleeps = fast_ticker(stub.url + "/")
    assert ticker.rate_url("xem") == stub.url + "/api/rate/xem_jpy"
    assert ticker.fetch("xem") == Decimal("88.549")
    assert stub.hits["xem"] == 1 and sleeps == []


def test_server_errors_are_retried_a_bounded_number_of_times_with_backoff(stub):
    stub.behaviour["btc"] = "error500"
    ticker, sleeps = fast_ticker(stub.url, attempts=3, backoff=0.5)
    with pytest.raises(TickerError, match=r"HTTP 500 \(after 3 attempts\)"):
        ticker.fetch("btc")
    assert stub.hits["btc"] == 3
    assert sleeps == [0.5, 1.0]


def test_a_passing_failure_is_overcome_by_the_next_attempt(stub):
    stub.behaviour["eth"] = "flaky:2"
    ticker, sleeps = fast_ticker(stub.url, attempts=3)
    assert ticker.fetch("eth") == Decimal("88.549")
    assert stub.hits["eth"] == 3 and len(sleeps) == 2


def test_a_ticker_that_does_not_answer_times_out(stub):
    stub.behaviour["xrp"] = "slow"
    ticker, sleeps = fast_ticker(stub.url, timeout=0.2, attempts=2)
    with pytest.raises(TickerError, match=r"no answer within 0.2 s \(after 2 attempts\)"):
        ticker.fetch("xrp")
    assert stub.hits["xrp"] == 2


@pytest.mark.parametrize("name, message", [
    ("html", "not JSON"), ("negative", "greater than 0"), ("nan", "finite"), ("huge", "too large"),
    ("empty", "empty answer"), ("not_found", "HTTP 404"),
])
def test_a_wrong_answer_fails_at_once_without_retrying(stub, name, message):
    stub.behaviour["lsk"] = name
    ticker, sleeps = fast_ticker(stub.url)
    with pytest.raises(TickerError, match=message):
        ticker.fetch("lsk")
    assert stub.hits["lsk"] == 1 and sleeps == []


def test_an_unreachable_ticker_is_reported():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ticker, sleeps = fast_ticker(f"http://127.0.0.1:{port}", attempts=2)
    with pytest.raises(TickerError, match="cannot reach the ticker.*after 2 attempts"):
        ticker.fetch("btc")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "127.0.0.1:8000", ""])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(TickerError, match="http"):
        Ticker(url)


# --- the CLI on both databases -------------------------------------------------------------

def stored_rates(app) -> dict[str, tuple[Decimal, str]]:
    with app.app_context():
        return {rate.currency_code: (rate.jpy_rate, rate.source) for rate in db.session.execute(select(Rate)).scalars()}


def test_rates_set_stores_an_exact_rate(app, runner):
    result = runner.invoke(args=["rates", "set", "XEM", "88.549"])
    assert result.exit_code == 0, result.output
    assert "xem: 88.549 JPY (new)" in result.output
    again = runner.invoke(args=["rates", "set", "xem", "90"])
    assert "xem: 90 JPY (was 88.549)" in again.output
    assert stored_rates(app)["xem"] == (Decimal("90"), "manual (cli)")


@pytest.mark.parametrize("currency, rate, message", [
    ("jpy", "1", "JPY has no rate"),
    ("doge", "10", "unknown currency"),
    ("xem", "-5", "greater than 0"),
    ("xem", "NaN", "not a decimal number"),
    ("xem", "1e400", "too large"),
])
def test_rates_set_refuses_bad_input(app, runner, currency, rate, message):
    result = runner.invoke(args=["rates", "set", "--", currency, rate])
    assert result.exit_code != 0
    assert message in result.output
    assert stored_rates(app) == {}


def test_rates_are_refused_for_a_disabled_currency(app, runner):
    with app.app_context():
        db.session.execute(update(Currency).where(Currency.code == "xem").values(enabled=False))
        db.session.commit()
    result = runner.invoke(args=["rates", "set", "xem", "88.549"])
    assert result.exit_code != 0 and "currency xem is disabled" in result.output


def test_rates_set_as_of_reads_a_naive_time_in_the_display_zone(app, runner):
    result = runner.invoke(args=["rates", "set", "xem", "88.549", "--as-of", "2018-03-12T12:00:00"])
    assert result.exit_code == 0, result.output
    assert "read as Asia/Tokyo time (2018-03-12T12:00:00+09:00)" in result.output
    with app.app_context():
        assert db.session.get(Rate, "xem").as_of == datetime(2018, 3, 12, 3, 0, tzinfo=UTC)
    older = runner.invoke(args=["rates", "set", "xem", "80", "--as-of", "2018-03-01T00:00:00+09:00"])
    assert older.exit_code != 0 and "is newer" in older.output
    future = runner.invoke(args=["rates", "set", "xem", "80", "--as-of", "2999-01-01T00:00:00+09:00"])
    assert future.exit_code != 0 and "in the future" in future.output
    assert stored_rates(app)["xem"][0] == Decimal("88.549")


def test_rates_import_sets_every_rate_or_none(app, runner, tmp_path):
    good = tmp_path / "rates.csv"
    good.write_text("currency,jpy_rate,as_of\nxem,88.549,2018-03-12T12:00:00+09:00\nBTC,1050000.5,\nxrp,90.5,2018-03-12 12:00\n")
    result = runner.invoke(args=["rates", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "3 rate(s) imported" in result.output
    assert "note: as_of without UTC offset on line(s) 4; read as Asia/Tokyo time" in result.stderr
    rates = stored_rates(app)
    assert rates["btc"] == (Decimal("1050000.5"), "import rates.csv") and rates["xem"][0] == Decimal("88.549")
    with app.app_context():
        assert db.session.get(Rate, "xrp").as_of == db.session.get(Rate, "xem").as_of == datetime(2018, 3, 12, 3, tzinfo=UTC)

    bad = tmp_path / "bad.csv"
    bad.write_text("currency,jpy_rate\nbtc,1\njpy,1\nxem,-2\neth,NaN\nbtc,3\ndoge,4\nltc,1e5\nzec\n")
    result = runner.invoke(args=["rates", "import", str(bad)])
    assert result.exit_code != 0
    for expected in ["line 3: JPY has no rate", "line 4: jpy_rate: a rate must be greater than 0", "line 5: jpy_rate: not a plain",
                     "line 6: duplicate of line 2", "line 7: unknown currency", "line 8: jpy_rate: not a plain",
                     "line 9: expected 2 fields", "no rate imported: 7 problem(s)"]:
        assert expected in result.output
    assert stored_rates(app) == rates


def test_refresh_stores_good_rates_and_keeps_the_last_good_one_for_each_failure(app, runner, stub, demo):
    stub.behaviour.update({
        "btc": "rate:1100000", "eth": "number", "etc": "error500", "lsk": "html", "fct": "negative", "xmr": "nan",
        "rep": "huge", "xrp": "slow", "zec": "empty", "xem": "ok", "ltc": "not_found", "dash": "flaky:1", "bch": "zero",
    })
    before = stored_rates(app)
    result = runner.invoke(args=["rates", "refresh", "--base-url", stub.url, "--timeout", "0.2", "--attempts", "2", "--backoff", "0"])
    assert result.exit_code == 1, result.output
    after = stored_rates(app)
    refreshed = {"btc": "1100000", "eth": "12345678901234567890.123456789012345678", "xem": "88.549", "dash": "88.549"}
    for code, rate in refreshed.items():
        assert after[code] == (Decimal(rate), f"ticker {stub.url}")
    failed = {"etc": "HTTP 500 (after 2 attempts)", "lsk": "not JSON", "fct": "greater than 0", "xmr": "finite", "rep": "too large",
              "xrp": "no answer within 0.2 s", "zec": "empty answer", "ltc": "HTTP 404", "bch": "greater than 0"}
    for code, reason in failed.items():
        assert after[code] == before[code]
        line = next(line for line in result.output.splitlines() if line.startswith(f"{code}: FAILED"))
        assert reason in line and f"keeping the last good rate {before[code][0]}" in line
    assert "4 rate(s) refreshed, 9 failed" in result.output
    assert stub.hits["etc"] == 2 and stub.hits["lsk"] == 1  # retried only what may pass


def test_refresh_of_a_currency_with_no_rate_yet_says_so_and_succeeds_for_the_rest(app, runner, stub):
    stub.behaviour.update({"btc": "ok", "xem": "error500"})
    result = runner.invoke(args=["rates", "refresh", "btc", "XEM", "--base-url", stub.url, "--attempts", "1"])
    assert result.exit_code == 1
    assert "xem: FAILED (HTTP 500 (after 1 attempts)); no rate yet" in result.output
    assert set(stored_rates(app)) == {"btc"}
    ok = runner.invoke(args=["rates", "refresh", "btc", "--base-url", stub.url])
    assert ok.exit_code == 0 and "btc: 88.549 JPY (was 88.549)" in ok.output


def test_refresh_reads_the_base_url_from_the_configuration(app, runner, stub):
    stub.behaviour["xem"] = "ok"
    app.config["RATES_BASE_URL"] = stub.url
    assert runner.invoke(args=["rates", "refresh", "xem"]).exit_code == 0
    app.config["RATES_BASE_URL"] = ""
    missing = runner.invoke(args=["rates", "refresh", "xem"])
    assert missing.exit_code != 0 and "set RATES_BASE_URL or pass --base-url" in missing.output


@pytest.mark.parametrize("arguments, message", [
    (["jpy"], "JPY has no rate"), (["doge"], "unknown currency"), (["--base-url", "file:///etc"], "http"),
    (["--max-runs", "2"], "--max-runs goes with --every"),
])
def test_refresh_refuses_bad_arguments(app, runner, stub, arguments, message):
    base = [] if "--base-url" in arguments else ["--base-url", stub.url]
    result = runner.invoke(args=["rates", "refresh", *base, *arguments])
    assert result.exit_code != 0 and message in result.output
    assert stored_rates(app) == {}


def test_refresh_every_runs_until_its_run_limit(app, runner, stub):
    stub.behaviour.update({"btc": "ok", "xem": "ok"})
    result = runner.invoke(args=["rates", "refresh", "btc", "xem", "--base-url", stub.url, "--every", "0.01", "--max-runs", "3"])
    assert result.exit_code == 0, result.output
    assert "stopped after 3 refresh(es)" in result.output
    assert stub.hits == Counter({"btc": 3, "xem": 3})


def test_refresh_every_stops_on_sigterm_between_runs(app, runner, stub):
    stub.behaviour["xem"] = "ok"

    def terminate_after_two_runs():
        while stub.hits["xem"] < 2 and not stub.release.wait(0.01):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=terminate_after_two_runs, daemon=True)
    killer.start()
    # The run limit only bounds the test should SIGTERM be ignored; it is never reached.
    result = runner.invoke(args=["rates", "refresh", "xem", "--base-url", stub.url, "--every", "0.05", "--max-runs", "500"])
    killer.join(5)
    assert result.exit_code == 0, result.output
    runs = int(result.output.rsplit("stopped after ", 1)[1].split()[0])
    assert 2 <= runs < 500
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back


def test_refresh_every_reports_failure_in_its_exit_code(app, runner, stub):
    stub.behaviour.update({"btc": "flaky:1"})
    result = runner.invoke(args=["rates", "refresh", "btc", "--base-url", stub.url, "--attempts", "1", "--every", "0.01", "--max-runs", "2"])
    assert result.exit_code == 1
    assert "stopped after 2 refresh(es); some failed" in result.output
    assert stored_rates(app)["btc"][0] == Decimal("88.549")  # the second run got it


def test_rates_list_marks_stale_and_missing_rates(app, runner):
    with app.app_context():
        old = datetime.now(UTC) - app.config["RATE_MAX_AGE"] - timedelta(minutes=1)
        db.session.add_all([Rate(currency_code="xem", jpy_rate=Decimal("88.549"), as_of=old, source="press"),
                            Rate(currency_code="btc", jpy_rate=Decimal("1050000"), as_of=datetime.now(UTC), source="ticker")])
        db.session.commit()
    lines = runner.invoke(args=["rates", "list"]).output.splitlines()
    assert any(line.startswith("xem: 88.549 JPY") and line.endswith("STALE") for line in lines)
    assert any(line.startswith("btc: 1050000 JPY") and not line.endswith("STALE") for line in lines)
    assert "eth: no rate" in lines and not any(line.startswith("jpy") for line in lines)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rate)) == 2
