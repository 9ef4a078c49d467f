"""Demo data: one account with balances in every currency and a JPY rate for each.
Figures come from the reference where they fit: 88.549 JPY per XEM is the rate the
exchange used to compensate NEM holders in March 2018."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from sqlalchemy import select

from dashboard.accounts.store import create_account, find_account
from dashboard.extensions import db
from dashboard.ledger.changes import BalanceChange, apply_changes
from dashboard.ledger.demo_story import write_journal_story, write_rate_story
from dashboard.ledger.rate_updates import store_rate
from dashboard.ledger.reasons import demo_seed
from dashboard.models import Rate

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demopass"
RATE_SOURCE = "demo"

# (available, in use): several with some in use, REP and ZEC at zero.
DEMO_BALANCES = {
    "jpy": (D("1234567"), D("50000")),
    "btc": (D("0.12345678"), D("0.05")),
    "eth": (D("1.5"), D("0")),
    "etc": (D("10"), D("2.5")),
    "lsk": (D("25"), D("0")),
    "fct": (D("12.3456"), D("0")),
    "xmr": (D("0.75"), D("0.25")),
    "rep": (D("0"), D("0")),
    "xrp": (D("1500"), D("500")),
    "zec": (D("0"), D("0")),
    "xem": (D("10000"), D("0")),
    "ltc": (D("3.2"), D("0.8")),
    "dash": (D("0.5"), D("0")),
    "bch": (D("0.3"), D("0.1")),
}

# JPY per unit, early March 2018; XEM's is the compensation rate from the press conference.
DEMO_RATES = {
    "btc": D("1050000"),
    "eth": D("80000"),
    "etc": D("2300"),
    "lsk": D("2200"),
    "fct": D("2800"),
    "xmr": D("32000"),
    "rep": D("5000"),
    "xrp": D("90.5"),
    "zec": D("36000"),
    "xem": D("88.549"),
    "ltc": D("21000"),
    "dash": D("60000"),
    "bch": D("120000"),
}


def seed_demo(now: datetime | None = None, *, story: bool = False) -> dict[str, int]:
    """Idempotent: a second run finds everything in place and changes nothing. With story, a
    year of rate history and of the account's journal comes first (demo_story)."""
    now = now or datetime.now(UTC)
    created = 0
    account = find_account(DEMO_EMAIL)
    if account is None:
        account = create_account(DEMO_EMAIL, DEMO_PASSWORD)
        created = 1
    story_entries = story_ticks = 0
    if story:
        # The rates first: the story's fills are at the demo's own rates of their day.
        story_ticks = write_rate_story({code: rate for code, rate in DEMO_RATES.items()
                                        if code not in set(db.session.execute(select(Rate.currency_code)).scalars())}, now)
        story_entries = write_journal_story(account.id, account.email, now)
    changes = [BalanceChange(account.id, code, available, in_use) for code, (available, in_use) in DEMO_BALANCES.items()]
    balances_changed = apply_changes(changes, reason=demo_seed(), source="seed-demo")
    existing = set(db.session.execute(select(Rate.currency_code)).scalars())
    rates_added = 0
    for code, jpy_rate in DEMO_RATES.items():
        if code not in existing:
            store_rate(code, jpy_rate, as_of=now, source=RATE_SOURCE)
            rates_added += 1
    db.session.commit()
    return {"accounts": created, "balances": balances_changed, "rates": rates_added,
            "journal_story": story_entries, "rate_history": story_ticks}
