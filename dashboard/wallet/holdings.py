"""Loads one account's balances and the current rates in a single query and values them;
the wallet page, /api/balance and the exchange-compatible API all read balances this way."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar

from cachetools import LRUCache, cached
from cachetools.keys import hashkey
from flask_babel import force_locale
from sqlalchemy import and_, bindparam, func, select

from dashboard.core.language_choice import format_moment
from dashboard.core.valuation import JPY, Holding, Valuation, value_holdings
from dashboard.core.valuation import Rate as RateInput
from dashboard.models import Balance, Currency, JournalEntry, Rate
from dashboard.read_path import read_cache, replicas
from dashboard.read_path.signed_in import read_connection
from dashboard.wallet.currency_names import names_in
from dashboard.wallet.derived import KeepsDerived
from dashboard.wallet.presentation import arrange_balances, conceal_amounts, present_balance

# Built once, on the tables rather than the mapped classes: constructing a select() per request,
# and the ORM's per-statement bookkeeping for what are plain columns, were a fifth of a request.
_currencies, _balances, _rates = Currency.__table__.c, Balance.__table__.c, Rate.__table__.c
_journal = JournalEntry.__table__.c
# Each balance's last journal sequence number: every fill, transfer and compensation writes an
# entry, and the numbers of one balance are consecutive and unique (journal_sequence_unique), so
# they name the state of everything the acquisition cost is made from (gains_fields.py). An
# index-only lookup a currency on that constraint's index, in the statement that reads the wallet.
_LAST_SEQUENCE = (
    select(func.max(_journal.sequence))
    .where(_journal.account_id == bindparam("account_id"), _journal.currency_code == _currencies.code)
    .scalar_subquery()
)
WALLET_QUERY = (
    select(_currencies.code, _currencies.decimals, _balances.available, _balances.in_use, _rates.jpy_rate, _rates.as_of,
           _LAST_SEQUENCE)
    .select_from(Currency.__table__)
    .outerjoin(Balance.__table__, and_(_balances.currency_code == _currencies.code, _balances.account_id == bindparam("account_id")))
    .outerjoin(Rate.__table__, _rates.currency_code == _currencies.code)
    .where(_currencies.enabled.is_(True))
    .order_by(_currencies.display_order, _currencies.code)
)

ZERO = Decimal(0)
T = TypeVar("T")
# (code, decimals, available, in use, JPY rate or None, rate's time or None)
WalletRow = tuple[str, int, Decimal, Decimal, "Decimal | None", "datetime | None"]


class WalletRows(tuple):
    """The wallet's rows, with `ledger`: (currency, its balance's last journal sequence number or
    0) for each, read in the same statement. Equal and hashed as the rows alone (the figures do not
    depend on the journal); what depends on the journal keys on `ledger` as well."""

    ledger: tuple[tuple[str, int], ...]

    def __new__(cls, rows, ledger: tuple[tuple[str, int], ...]):
        made = super().__new__(cls, rows)
        made.ledger = ledger
        return made


def wallet_rows(account_id: int) -> WalletRows:
    """Every enabled currency in display order, zero where the account has no balance row: one
    query whatever the number of currencies, or none while the read cache holds the answer.
    Immutable and hashable, so it can key a memo."""
    given = getattr(_GIVEN, "rows", None)
    if given is not None and account_id in given:
        return given[account_id]
    return read_cache.current().wallet(account_id, lambda: _read_wallet_rows(account_id))


# The live wallet (dashboard/live) needs the rows of every account with an open page after each
# rate tick: the same rows as WALLET_QUERY's, made from two statements — the currencies and their
# rates, once for all accounts; each account's balances and last journal sequence numbers, read
# together and again only when they change — and given to this thread's requests.
_GIVEN = threading.local()
CURRENCY_RATES_QUERY = (
    select(_currencies.code, _currencies.decimals, _rates.jpy_rate, _rates.as_of)
    .select_from(Currency.__table__)
    .outerjoin(Rate.__table__, _rates.currency_code == _currencies.code)
    .where(_currencies.enabled.is_(True))
    .order_by(_currencies.display_order, _currencies.code)
)
HOLDINGS_QUERY = (
    select(_balances.account_id, _balances.currency_code, _balances.available, _balances.in_use)
    .where(_balances.account_id.in_(bindparam("account_ids", expanding=True)))
)
SEQUENCES_QUERY = (
    select(_journal.account_id, _journal.currency_code, func.max(_journal.sequence))
    .where(_journal.account_id.in_(bindparam("account_ids", expanding=True)))
    .group_by(_journal.account_id, _journal.currency_code)
)
_READ_TOGETHER = 1000  # accounts per statement


class AccountHoldings(NamedTuple):
    """One account's balances ((currency, available, in use), ...) and last journal sequence
    numbers ((currency, number), ...), in currency order: hashable, so that accounts holding the
    same share their rows."""

    balances: tuple
    sequences: tuple


def read_currency_rates(connection) -> tuple:
    """(code, decimals, JPY rate or None, rate's time or None) of every enabled currency, in order."""
    return tuple(tuple(row) for row in connection.execute(CURRENCY_RATES_QUERY))


def read_holdings(connection, account_ids) -> dict[int, AccountHoldings]:
    """The balances and last journal sequence numbers of these accounts, a few statements in all."""
    ids = list(account_ids)
    balances: dict[int, list] = {account_id: [] for account_id in ids}
    sequences: dict[int, list] = {account_id: [] for account_id in ids}
    for start in range(0, len(ids), _READ_TOGETHER):
        chunk = {"account_ids": ids[start:start + _READ_TOGETHER]}
        for account_id, code, available, in_use in connection.execute(HOLDINGS_QUERY, chunk):
            balances[account_id].append((code, available, in_use))
        for account_id, code, sequence in connection.execute(SEQUENCES_QUERY, chunk):
            sequences[account_id].append((code, sequence))
    return {account_id: AccountHoldings(tuple(sorted(balances[account_id])), tuple(sorted(sequences[account_id])))
            for account_id in ids}


def compose_wallet_rows(currency_rates: tuple, holdings: AccountHoldings) -> WalletRows:
    """The WalletRows WALLET_QUERY would read, from read_currency_rates' and read_holdings' answers."""
    balances = {code: (available, in_use) for code, available, in_use in holdings.balances}
    sequences = dict(holdings.sequences)
    rows, ledger = [], []
    for code, decimals, jpy_rate, as_of in currency_rates:
        available, in_use = balances.get(code, (None, None))
        rows.append((code, decimals, ZERO if available is None else available, ZERO if in_use is None else in_use,
                     jpy_rate, as_of))
        ledger.append((code, sequences.get(code) or 0))
    return WalletRows(rows, tuple(ledger))


@contextmanager
def rows_given(rows: dict[int, WalletRows]) -> Iterator[None]:
    """While the block runs, wallet_rows() in this thread answers from rows for the accounts it holds."""
    _GIVEN.rows = rows
    try:
        yield
    finally:
        _GIVEN.rows = None


def _read_wallet_rows(account_id: int) -> WalletRows:
    read = replicas.read(account_id, lambda connection: connection.execute(WALLET_QUERY, {"account_id": account_id}).all(),
                         read_connection)
    return WalletRows(
        ((code, decimals, ZERO if available is None else available, ZERO if in_use is None else in_use, jpy_rate, as_of)
         for code, decimals, available, in_use, jpy_rate, as_of, _sequence in read),
        tuple((row[0], row[6] or 0) for row in read),
    )


def value_rows(rows: tuple[WalletRow, ...], *, now: datetime, max_age: timedelta) -> Valuation:
    holdings, rates = [], {}
    for code, decimals, available, in_use, jpy_rate, as_of in rows:
        holdings.append(Holding(code, decimals, available, in_use))
        if jpy_rate is not None:
            rates[code] = RateInput(jpy_rate, as_of)
    return value_holdings(holdings, rates, now=now, max_age=max_age)


def _stale_flags(rows: tuple[WalletRow, ...], cutoff: datetime) -> tuple[bool, ...]:
    """The only part of a wallet's figures that depends on the clock: which rates are older than
    the cutoff. With the rows, it fixes the whole document."""
    return tuple(as_of is not None and as_of < cutoff for code, _d, _a, _u, rate, as_of in rows if code != JPY and rate is not None)


# The figures change only when a balance or a rate does, while the page asks for them every
# few seconds; valuing and formatting 14 currencies was a third of a request. The memo is keyed
# by everything the document is made from (the rows as read, the language, the zone and which
# rates are stale), so a hit is exactly what computing afresh would give. Bounded: about 20 kB
# an entry, so at most ~40 MB per worker process.
_DOCUMENTS = LRUCache(maxsize=2048)
_DOCUMENTS_LOCK = threading.Lock()


def kept_with_figures(key: tuple, make: Callable[[], T]) -> T:
    """make()'s answer, kept in the figures' memo (the same LRU and bound, not a memo of its own)
    under key, which must name everything it is made from, as the figures' keys do: what the
    wallet's figures are made with that changes far less often than they do (gains_fields.py)."""
    return kept_in(_DOCUMENTS, _DOCUMENTS_LOCK, key, make)


def kept_in(memo, lock, key: tuple, make: Callable[[], T]) -> T:
    """make()'s answer, kept in memo (guarded by lock) under key."""
    with lock:
        value = memo.get(key)
    if value is None:  # two threads may both make it; they make the same thing
        value = make()
        with lock:
            memo[key] = value
    return value


@dataclass(eq=False)
class WalletFigures(KeepsDerived):
    """One memoised wallet document, and what is made from it alone (its JSON, its table rows in
    HTML), each made once when first asked for."""

    document: dict
    _derived: dict = field(default_factory=dict)

    def shown(self, discreet: bool) -> dict:
        """The document as the account may see it: without any amount in discreet mode."""
        return self.derived(("shown", discreet), lambda: conceal_amounts(self.document) if discreet else self.document)

    def with_preferences(self, preferences: WalletPreferences) -> dict:
        """The /api/balance document for an account with these choices: its rows in the chosen
        order, each saying whether the switches hide it, and without amounts in discreet mode."""
        def make() -> dict:
            # Ordered and flagged on the exact figures, before discreet mode takes the amounts out.
            arranged = arrange_balances(self.document, order=preferences.balance_order,
                                        hide_zero=preferences.hide_zero_balances, hide_small=preferences.hide_small_balances,
                                        small_jpy=preferences.small_balance_jpy)
            return {**(conceal_amounts(arranged) if preferences.discreet else arranged),
                    "show_in_header": preferences.show_in_header, "hide_zero_balances": preferences.hide_zero_balances,
                    "discreet": preferences.discreet, "balance_order": preferences.balance_order,
                    "hide_small_balances": preferences.hide_small_balances,
                    "small_balance_jpy": preferences.small_balance_jpy}

        return self.derived(("document", preferences), make)

    @staticmethod
    def json_key(preferences: WalletPreferences) -> tuple:
        return ("json", preferences)

    def json(self, preferences: WalletPreferences, dumps: Callable[[dict], str]) -> str:
        return self.derived(self.json_key(preferences), lambda: dumps(self.with_preferences(preferences)))


class WalletPreferences(NamedTuple):
    """An account's choices that change what the wallet shows (saved on the account)."""

    show_in_header: bool = True
    hide_zero_balances: bool = False
    discreet: bool = False
    balance_order: str = "value"
    hide_small_balances: bool = False
    small_balance_jpy: int = 1000

    @classmethod
    def of(cls, account) -> WalletPreferences:
        return cls(account.show_net_assets_in_header, account.hide_zero_balances, account.discreet,
                   account.balance_order, account.hide_small_balances, account.small_balance_jpy)


@cached(_DOCUMENTS, key=lambda rows, locale, zone, stale, now, max_age: hashkey(rows, locale, zone, stale), lock=_DOCUMENTS_LOCK)
def _figures(rows, locale, zone, stale, now, max_age) -> WalletFigures:
    # The names come from the catalogue of the locale the memo is keyed by, whatever the request's.
    with force_locale(locale):
        return WalletFigures(present_balance(
            value_rows(rows, now=now, max_age=max_age),
            locale=locale,
            format_time=functools.partial(format_moment, locale=locale, zone=zone),
            name_of=names_in(locale),
        ))


def wallet_figures(account_id: int, *, locale: str, zone: str, max_age: timedelta, now: datetime | None = None) -> WalletFigures:
    """The /api/balance document of an account (without its header preference), as the
    database has it now. Shared between requests: never modify what it holds."""
    return figures_of(wallet_rows(account_id), locale=locale, zone=zone, max_age=max_age, now=now)


def figures_of(rows: tuple[WalletRow, ...], *, locale: str, zone: str, max_age: timedelta,
               now: datetime | None = None) -> WalletFigures:
    """The figures made from these wallet rows (memoised as wallet_figures)."""
    now = now or datetime.now(UTC)
    return _figures(rows, locale, zone, _stale_flags(rows, now - max_age), now, max_age)


def figures_unchanged_until(rows: tuple[WalletRow, ...], *, now: datetime, max_age: timedelta) -> datetime:
    """The moment the clock alone would change these rows' figures: the first rate to turn stale
    (a rate that is stale already stays stale)."""
    cutoff = now - max_age
    return min((as_of + max_age for code, _d, _a, _u, rate, as_of in rows
                if code != JPY and rate is not None and as_of is not None and as_of >= cutoff), default=datetime.max.replace(tzinfo=UTC))


def wallet_document(account_id: int, **kwargs) -> dict:
    return wallet_figures(account_id, **kwargs).document
