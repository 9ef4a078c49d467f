"""The demo's year: a deterministic rate history for every demo currency (source "demo") and a
year of the demo account's journal (deposits, trades, a withdrawal) ending at the demo balances,
so the charts have a story on first run; and the small ticker that keeps demo rates moving."""
from __future__ import annotations

import decimal
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from sqlalchemy import exists, select

from dashboard.core.history import ORIGIN
from dashboard.extensions import db
from dashboard.ledger.changes import adjust
from dashboard.ledger.fills import TRADE_HEADER, TRANSFER_HEADER, import_trades, import_transfers
from dashboard.ledger.rate_history import Tick, append_ticks
from dashboard.ledger.rate_updates import store_rate
from dashboard.ledger.reasons import demo_activity
from dashboard.models import JournalEntry, Rate, RateHistory

RATE_SOURCE = "demo"
# Daily ticks over the year, every six hours over its last month: enough for every range's
# chart, and quick to write (about 6,000 ticks and their closes).
TICK_SPACING = timedelta(hours=6)
DAYS, DENSE_DAYS = 365, 30
# Rates keep six significant digits: a demo price, never a float on the way.
_SIX_DIGITS = decimal.Context(prec=6, rounding=decimal.ROUND_HALF_UP)

# (days before now, reason, figures set then). The last step lands on the demo balances.
STORY: tuple[tuple[int, str, dict[str, tuple[D, D]]], ...] = (
    (365, "deposit", {"jpy": (D("3000000"), D("0"))}),
    (340, "trade", {"jpy": (D("2150000"), D("0")), "btc": (D("0.08"), D("0")), "eth": (D("1"), D("0"))}),
    (300, "trade", {"jpy": (D("1260000"), D("0")), "xem": (D("10000"), D("0")), "xrp": (D("2000"), D("0"))}),
    (250, "deposit", {"jpy": (D("1760000"), D("0"))}),
    (210, "trade", {"jpy": (D("1400000"), D("0")), "ltc": (D("4"), D("0")), "dash": (D("0.5"), D("0")), "bch": (D("0.4"), D("0"))}),
    (160, "trade", {"jpy": (D("1330000"), D("0")), "etc": (D("12.5"), D("0")), "lsk": (D("25"), D("0")),
                    "fct": (D("12.3456"), D("0")), "xmr": (D("1"), D("0"))}),
    (120, "transfer", {"eth": (D("1.2"), D("0"))}),
    (95, "withdrawal requested", {"jpy": (D("1030000"), D("300000"))}),
    (94, "withdrawal", {"jpy": (D("1030000"), D("0"))}),
    (60, "trade", {"dash": (D("0.2"), D("0"))}),
    (50, "trade", {"dash": (D("0.5"), D("0"))}),
    (40, "trade", {"jpy": (D("1284567"), D("0")), "btc": (D("0.17345678"), D("0")), "eth": (D("1.5"), D("0"))}),
    (3, "orders placed", {"jpy": (D("1234567"), D("50000")), "btc": (D("0.12345678"), D("0.05")), "etc": (D("10"), D("2.5")),
                          "xmr": (D("0.75"), D("0.25")), "xrp": (D("1500"), D("500")), "ltc": (D("3.2"), D("0.8")),
                          "bch": (D("0.3"), D("0.1"))}),
)


def write_journal_story(account_id: int, email: str, now: datetime) -> int:
    """The account's year, if its journal is still empty (else nothing: a journal is never
    rewritten, and an older one cannot take entries before its own). Its trades are fills at the
    demo's own rates of the day (the rate history, written first) and its move of ETH a transfer,
    through the same ledger path as `flask trades import` and `flask transfers import`; the other
    steps add what the story says changed. JPY so ends where the fills leave it, and seed_demo
    then sets the demo balances."""
    if db.session.execute(select(exists().where(JournalEntry.account_id == account_id))).scalar():
        return 0
    written, held = 0, {}
    zone = "UTC"
    for number, (days, reason, figures) in enumerate(STORY):
        at = now - timedelta(days=days)
        if reason in ("trade", "transfer"):
            lines = []
            for code, (available, _in_use) in figures.items():
                if code == "jpy":
                    # A fill settles the JPY at the day's rate; the story's figure only counts
                    # the later steps' changes from it.
                    held[code] = (available, _in_use)
                    continue
                change = available - held.get(code, (D(0), D(0)))[0]
                held[code] = (available, D(0))
                if not change:
                    continue
                if reason == "transfer":
                    lines.append(f"{email},demo-{number}-{code},{at.isoformat()},{code},{'in' if change > 0 else 'out'},{abs(change)}")
                else:
                    price = _rate_as_of(code, at)
                    lines.append(f"{email},demo-{number}-{code},{at.isoformat()},{code}_jpy,{'buy' if change > 0 else 'sell'},"
                                 f"{abs(change)},{price},0,jpy")
            header = TRANSFER_HEADER if reason == "transfer" else TRADE_HEADER
            data = ("\n".join([",".join(header), *lines]) + "\n").encode()
            importer = import_transfers if reason == "transfer" else import_trades
            written += importer(data, source="seed-demo", zone=zone, now=now).applied
            continue
        for code, (available, in_use) in figures.items():
            before = held.get(code, (D(0), D(0)))
            held[code] = (available, in_use)
            entry = adjust(account_id, code, available=available - before[0], in_use=in_use - before[1],
                           reason=demo_activity(reason), source="seed-demo", at=at, key=f"demo-story:{number}:{code}")
            written += entry is not None
    return written


def _rate_as_of(code: str, moment: datetime) -> D:
    """The demo rate of the day (the rate history's latest tick by then; the current rate where
    the history has none so early)."""
    rate = db.session.execute(
        select(RateHistory.jpy_rate).where(RateHistory.currency_code == code, RateHistory.as_of <= moment)
        .order_by(RateHistory.as_of.desc(), RateHistory.id.desc()).limit(1)
    ).scalar()
    if rate is None:
        rate = db.session.execute(select(Rate.jpy_rate).where(Rate.currency_code == code)).scalar()
    return rate


def write_rate_story(final_rates: dict[str, D], now: datetime) -> int:
    """A year of ticks for each currency (daily, then every six hours in the last month), ending
    at its demo rate now, unless demo history is already there. Deterministic: each currency's
    walk has a fixed seed."""
    if db.session.execute(select(exists().where(RateHistory.source == RATE_SOURCE))).scalar():
        return 0
    last = ORIGIN + ((now - ORIGIN) // TICK_SPACING) * TICK_SPACING
    if last == now:
        last -= TICK_SPACING
    dense = DENSE_DAYS * (timedelta(days=1) // TICK_SPACING)
    moments = [last - TICK_SPACING * step for step in reversed(range(dense))]
    moments = [moments[0] - timedelta(days=day) for day in reversed(range(1, DAYS - DENSE_DAYS + 1))] + moments
    count = len(moments)
    ticks = []
    for code, final in final_rates.items():
        for moment, rate in zip(moments, _walk(code, final, count), strict=True):
            ticks.append(Tick(code, rate, moment, RATE_SOURCE))
    return append_ticks(ticks)


def _walk(code: str, final: D, count: int) -> list[D]:
    """count rates drifting towards `final` (reached just after the last): per-mille steps in
    whole numbers, so the walk is exact and the same on every machine."""
    rng = random.Random(f"demo-rates:{code}")
    steps = [1000 + rng.randint(-30, 31) for _ in range(count)]
    # Rate before step i = final × (product of the steps from i on) ÷ 1000^(their number)
    rates, numerator, denominator = [], 1, 1
    for step in reversed(steps):
        numerator *= 1000
        denominator *= step
        rates.append(_SIX_DIGITS.divide(final * numerator, D(denominator)))
    return list(reversed(rates))


def tick_demo_rates(rng: random.Random, base_rates: dict[str, D], now: datetime | None = None) -> int:
    """One move of every demo currency's rate (source demo), pulled back towards its demo rate
    when it strays more than a tenth away. In the caller's transaction."""
    now = now or datetime.now(UTC)
    moved = 0
    current = dict(db.session.execute(select(Rate.currency_code, Rate.jpy_rate)).all())
    for code, base in base_rates.items():
        rate = current.get(code, base)
        step = rng.randint(-4, 4)
        if rate > base * D("1.1"):
            step = -abs(step) - 1
        elif rate < base * D("0.9"):
            step = abs(step) + 1
        store_rate(code, _SIX_DIGITS.divide(rate * (1000 + step), D(1000)), as_of=now, source=RATE_SOURCE)
        moved += 1
    return moved
