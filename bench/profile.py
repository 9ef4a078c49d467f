"""Where a request's time goes: each stage of GET / and GET /api/balance timed alone, then pyinstrument.

Run: python -m bench.profile [--schema bench_1000] [--repeat 300] [--out DIR]
(the pyinstrument reports go to DIR, by default bench-profile in the system's temporary folder)
In-process through Flask's test client (no gunicorn, no wrk), signed in with CSRF on as in production.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import pass_context
from sqlalchemy import text

from . import load
from . import schema as bench_schema
from .signin import csrf_token

PATHS = ("/api/balance", "/")


BATCH = 20


def timed(function, repeat: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per call: the best batch mean, since on a shared machine other
    processes only ever add time (a mean would measure them too)."""
    for _ in range(min(20, repeat)):
        function()
    best_wall = best_cpu = float("inf")
    for _ in range(max(1, repeat // BATCH)):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(BATCH):
            function()
        best_wall = min(best_wall, (time.perf_counter() - wall) * 1000 / BATCH)
        best_cpu = min(best_cpu, (time.process_time() - cpu) * 1000 / BATCH)
    return best_wall, best_cpu


def template_calls(app, client) -> dict[str, int]:
    """How many gettext and url_for calls one wallet page makes, counted by wrapping both."""
    counts = {"gettext": 0, "url_for": 0}
    jinja_globals = app.jinja_env.globals
    jinja_gettext, jinja_url_for = jinja_globals["gettext"], jinja_globals["url_for"]

    @pass_context  # as Jinja's own: the template hands it its context first
    def counting_gettext(context, *args, **kwargs):
        counts["gettext"] += 1
        return jinja_gettext(context, *args, **kwargs)

    def counting_url_for(*args, **kwargs):
        counts["url_for"] += 1
        return jinja_url_for(*args, **kwargs)

    jinja_globals["gettext"], jinja_globals["url_for"] = counting_gettext, counting_url_for
    try:
        from dashboard.wallet import holdings

        holdings._DOCUMENTS.clear()  # a page rendered afresh, not the memoised one
        client.get("/")
    finally:
        jinja_globals["gettext"], jinja_globals["url_for"] = jinja_gettext, jinja_url_for
    return counts


def wait_for(condition, what: str, seconds: float = 10) -> None:
    """Until condition() holds; RuntimeError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {seconds:g} s for {what}")
        time.sleep(0.001)


def signed_in_client(app, email: str, password: str = load.BENCH_PASSWORD):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in as {email} answered {answer.status_code}")
    client.get("/")  # as a browser: the page puts the form's CSRF token in the session cookie once
    return client


def stage_costs(app, client, repeat: int) -> list[tuple[str, float, float]]:
    from flask import current_app, g, jsonify, render_template, url_for
    from flask_babel import get_translations
    from flask_login import current_user

    from dashboard.core.formatting import amount, number, plain
    from dashboard.extensions import db
    from dashboard.language.i18n import display_zone, format_time, select_locale
    from dashboard.read_path.signed_in import load_signed_in, read_connection
    from dashboard.wallet import holdings

    from .bare_app import create_app as create_bare_app

    bare = create_bare_app().test_client()
    rows = [
        ("bare Flask app, whole request (for scale)", *timed(lambda: bare.get("/"), repeat)),
        ("GET /api/balance, whole request", *timed(lambda: client.get("/api/balance"), repeat)),
        ("GET / (wallet page), whole request", *timed(lambda: client.get("/"), repeat)),
    ]
    calls = template_calls(app, client)
    cookie = client.get_cookie("session")
    with app.test_request_context("/", headers={"Cookie": f"session={cookie.value}"}):
        app.preprocess_request()
        account = current_user._get_current_object()
        token, account_id = account.session_token, account.id
        locale, zone, max_age = select_locale(), display_zone(), current_app.config["RATE_MAX_AGE"]
        wallet_rows = holdings.wallet_rows(account_id)
        valuation = holdings.value_rows(wallet_rows, now=datetime.now(UTC), max_age=max_age)

        def read_cycle():
            read_connection().execute(text("SELECT 1"))
            g.pop("read_connection").close()

        def session_cycle():
            db.session.execute(text("SELECT 1"))
            db.session.remove()

        def fresh_document():
            holdings._DOCUMENTS.clear()
            return holdings.wallet_document(account_id, locale=locale, zone=zone, max_age=max_age)

        rows += [
            ("  ORM session: checkout (pre-ping) + BEGIN + SELECT 1 + ROLLBACK", *timed(session_cycle, repeat)),
            ("  read connection: checkout (pre-ping) + SELECT 1, autocommit", *timed(read_cycle, repeat)),
            ("  user_loader (read cache on: a hit when nothing changed)", *timed(lambda: load_signed_in(token), repeat)),
            ("  wallet_rows (read cache on: a hit when nothing changed)", *timed(lambda: holdings.wallet_rows(account_id), repeat)),
            ("  value_rows: Holding/Rate checks, exact products", *timed(lambda: holdings.value_rows(wallet_rows, now=datetime.now(UTC), max_age=max_age), repeat)),
            ("  wallet_document, computed afresh (query + value + format)", *timed(fresh_document, repeat)),
            ("  wallet_document, memo hit (query + key)", *timed(lambda: holdings.wallet_document(account_id, locale=locale, zone=zone, max_age=max_age), repeat)),
            ("    format_time(rates_as_of) (memoised)", *timed(lambda: format_time(valuation.rates_as_of), repeat)),
            ("    one number() (¥ figure)", *timed(lambda: number(Decimal("109313.5706"), locale=locale), repeat)),
            ("    one amount() (native, 8 places)", *timed(lambda: amount(Decimal("0.12345678"), 8, locale=locale), repeat)),
            ("    one plain() (exact string)", *timed(lambda: plain(Decimal("129629.6190")), repeat)),
        ]
        g.wallet_figures = holdings.wallet_figures(account_id, locale=locale, zone=zone, max_age=max_age)
        document = g.wallet_figures.with_preferences(holdings.WalletPreferences())
        rows += [
            ("  jsonify(balance document)", *timed(lambda: jsonify(document), repeat)),
            ("  render wallet/index.html afresh (figures already computed)", *timed(lambda: render_template("wallet/index.html"), repeat)),
            (f"    one template _() through Flask-Babel ({calls['gettext']} per fresh render)", *timed(lambda: get_translations().ugettext("Wallet"), repeat)),
            (f"    one url_for('static', ...) ({calls['url_for']} per fresh render)", *timed(lambda: url_for("static", filename="icons/btc.svg"), repeat)),
        ]
        db.session.remove()
    return rows


def profile_paths(client, repeat: int, out: Path) -> list[Path]:
    from pyinstrument import Profiler

    written = []
    for path in PATHS:
        for _ in range(20):
            client.get(path)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(repeat):
            client.get(path)
        profiler.stop()
        name = "api_balance" if path == "/api/balance" else "wallet_page"
        target = out / f"{name}.txt"
        target.write_text(profiler.output_text(unicode=True, time="percent_of_total"))
        (out / f"{name}.html").write_text(profiler.output_html())
        written.append(target)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="bench_1000", help="a schema the bench has loaded (default bench_1000)")
    parser.add_argument("--repeat", type=int, default=300, help="calls per figure (default 300)")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "bench-profile"),
                        help="folder for the pyinstrument reports (default: bench-profile in the temporary folder)")
    args = parser.parse_args(argv)
    loaded = load.loaded_accounts(args.schema)
    if not loaded:
        raise SystemExit(f"schema {args.schema} holds no finished bench load: run python -m bench first")

    from dashboard import create_app

    app = create_app(bench_schema.app_config(args.schema))
    client = signed_in_client(app, load.bench_email(load.middle_account(loaded[0])))
    print(f"{'stage (in-process, ' + args.schema + ')':66}{'wall ms':>9}{'CPU ms':>9}")
    for label, wall, cpu in stage_costs(app, client, args.repeat):
        print(f"{label:66}{wall:9.3f}{cpu:9.3f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for report in profile_paths(client, args.repeat, out):
        print(f"pyinstrument: {report} (and .html)")


if __name__ == "__main__":
    main()
