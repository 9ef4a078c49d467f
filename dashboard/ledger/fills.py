"""Importing the exchange's fills (trades) and moves of crypto-assets (transfers): each file is
checked whole, every bad line named by number, and applied in one transaction or not at all. A
fill changes its two balances through changes.adjust (refusing what would go below zero), each
journal entry keyed by the fill (trade:<trade_id>:<currency>), and is recorded in `trades`;
a trade_id or transfer_id already recorded is skipped, so a file applied twice changes nothing."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from dashboard.core.cost_basis import BUY, SELL
from dashboard.core.fills import Fill, fill_problems, settled_jpy
from dashboard.extensions import db
from dashboard.ledger import reasons
from dashboard.ledger.changes import LedgerError, adjust
from dashboard.ledger.imports import FileRefused, Problem, parse_amount, parse_moment, read_table
from dashboard.models import Account, Currency, Trade, Transfer
from dashboard.types import SCALE

TRADE_HEADER = ("email", "trade_id", "executed_at", "pair", "side", "quantity", "price", "fee", "fee_currency")
TRANSFER_HEADER = ("email", "transfer_id", "at", "currency", "direction", "quantity")
JPY = "jpy"
# An exchange's identifiers: letters, digits and - _ . : (a journal key has room for 64 of them).
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:\-]{1,64}", re.ASCII)


@dataclass(frozen=True)
class TradeLine:
    line: int
    account_id: int
    trade_id: str
    fill: Fill
    currency: str
    fee_currency: str


@dataclass(frozen=True)
class TransferLine:
    line: int
    account_id: int
    transfer_id: str
    at: datetime
    currency: str
    direction: str
    quantity: Decimal


@dataclass(frozen=True)
class ImportResult:
    lines: int
    applied: int
    already_recorded: int


class _Checker:
    """The checks both files share: email, identifier, moment, every problem kept by line."""

    def __init__(self, *, zone: str, now: datetime):
        self.zone, self.now = zone, now
        self.problems: list[Problem] = []
        self.emails: list[tuple[int, str]] = []
        self.ids: dict[str, int] = {}

    def email(self, line: int, text: str) -> str | None:
        email = text.strip().lower()
        if not email:
            self.problems.append(Problem(line, "missing email"))
            return None
        self.emails.append((line, email))
        return email

    def identifier(self, line: int, name: str, text: str) -> str | None:
        value = text.strip()
        if not _IDENTIFIER.fullmatch(value):
            self.problems.append(Problem(line, f"{name}: 1 to 64 letters, digits or - _ . : expected, found {value[:40]!r}"))
            return None
        if value in self.ids:
            self.problems.append(Problem(line, f"{name} {value} also on line {self.ids[value]}"))
            return None
        self.ids[value] = line
        return value

    def moment(self, line: int, name: str, text: str) -> datetime | None:
        try:
            moment, _assumed = parse_moment(text, self.zone)
        except ValueError as error:
            self.problems.append(Problem(line, f"{name}: {error}"))
            return None
        if moment > self.now:
            self.problems.append(Problem(line, f"{name} {text.strip()} is in the future"))
            return None
        return moment

    def amount(self, line: int, name: str, text: str, places: int, *, positive: bool = True) -> Decimal | None:
        try:
            value = parse_amount(text, places)
        except ValueError as error:
            self.problems.append(Problem(line, f"{name}: {error}"))
            return None
        if positive and value <= 0:
            self.problems.append(Problem(line, f"{name} must be more than zero"))
            return None
        return value

    def accounts(self, find_accounts: Callable[[Iterable[str]], Mapping[str, int]]) -> Mapping[str, int]:
        accounts = find_accounts({email for _, email in self.emails})
        self.problems.extend(Problem(line, f"unknown account {email[:80]}") for line, email in self.emails if email not in accounts)
        return accounts


def read_trades(data: bytes, currencies: Mapping[str, int], find_accounts, *, zone: str, now: datetime) -> list[TradeLine]:
    """The lines of a trades file; currencies maps code to decimal places. Raises FileRefused."""
    rows, problems = read_table(data, (TRADE_HEADER,))
    check = _Checker(zone=zone, now=now)
    check.problems.extend(problems)
    good = []
    for line, (email, trade_id, executed_at, pair, side, quantity, price, fee, fee_currency) in rows:
        before = len(check.problems)
        email = check.email(line, email)
        trade_id = check.identifier(line, "trade_id", trade_id)
        at = check.moment(line, "executed_at", executed_at)
        base, _, quote = pair.strip().lower().partition("_")
        if quote != JPY or base == JPY or base not in currencies:
            check.problems.append(Problem(line, f"pair: a crypto-asset against JPY expected (e.g. btc_jpy), found {pair.strip()[:20]!r}"))
            base = None
        side = side.strip().lower()
        if side not in (BUY, SELL):
            check.problems.append(Problem(line, f"side: buy or sell expected, found {side[:20]!r}"))
        places = currencies.get(base, SCALE) if base else SCALE
        quantity = check.amount(line, "quantity", quantity, places)
        price = check.amount(line, "price", price, SCALE)
        fee_code = fee_currency.strip().lower()
        if fee_code not in (JPY, base):
            check.problems.append(Problem(line, f"fee_currency: jpy or the pair's crypto-asset expected, found {fee_currency.strip()[:20]!r}"))
            fee_code = None
        fee = check.amount(line, "fee", fee, currencies[fee_code] if fee_code else SCALE, positive=False)
        if len(check.problems) > before:
            continue
        jpy = settled_jpy(side, quantity, price, currencies[JPY])
        fill = Fill(at, side, quantity, price, fee, fee_code == JPY, jpy)
        impossible = fill_problems(side, quantity, fee, fee_code == JPY, jpy)
        check.problems.extend(Problem(line, problem) for problem in impossible)
        if not impossible:
            good.append((line, email, trade_id, fill, base, fee_code))
    accounts = check.accounts(find_accounts)
    if check.problems:
        raise FileRefused(check.problems)
    return [TradeLine(line, accounts[email], trade_id, fill, base, fee_code) for line, email, trade_id, fill, base, fee_code in good]


def read_transfers(data: bytes, currencies: Mapping[str, int], find_accounts, *, zone: str, now: datetime) -> list[TransferLine]:
    """The lines of a transfers file (crypto-assets only: JPY moves are not this file's). Raises FileRefused."""
    rows, problems = read_table(data, (TRANSFER_HEADER,))
    check = _Checker(zone=zone, now=now)
    check.problems.extend(problems)
    good = []
    for line, (email, transfer_id, at, currency, direction, quantity) in rows:
        before = len(check.problems)
        email = check.email(line, email)
        transfer_id = check.identifier(line, "transfer_id", transfer_id)
        at = check.moment(line, "at", at)
        code = currency.strip().lower()
        if code == JPY or code not in currencies:
            check.problems.append(Problem(line, f"currency: a crypto-asset expected, found {currency.strip()[:20]!r}"))
            code = None
        direction = direction.strip().lower()
        if direction not in ("in", "out"):
            check.problems.append(Problem(line, f"direction: in or out expected, found {direction[:20]!r}"))
        quantity = check.amount(line, "quantity", quantity, currencies[code] if code else SCALE)
        if len(check.problems) == before:
            good.append((line, email, transfer_id, at, code, direction, quantity))
    accounts = check.accounts(find_accounts)
    if check.problems:
        raise FileRefused(check.problems)
    return [TransferLine(line, accounts[email], *rest) for line, email, *rest in good]


def import_trades(data: bytes, *, source: str, zone: str, now: datetime) -> ImportResult:
    """Check the file whole, then apply its new fills in time order, in the caller's transaction.
    Raises FileRefused (nothing applied) for a bad line or a fill the balances refuse."""
    lines = read_trades(data, _places(), _find_accounts, zone=zone, now=now)
    recorded = _recorded(Trade.trade_id, [line.trade_id for line in lines])
    new = sorted((line for line in lines if line.trade_id not in recorded), key=lambda line: (line.fill.at, line.line))
    for line in new:
        fill = line.fill
        jpy_change, unit_change = fill.deltas()
        reason = reasons.trade(line.trade_id, fill.side, line.currency, fill.quantity, fill.price)
        # The ledger's one lock order within an account: by currency code.
        for code, change in sorted(((JPY, jpy_change), (line.currency, unit_change))):
            _adjust(line.line, line.account_id, code, change, reason, source, fill.at, f"trade:{line.trade_id}:{code}")
        db.session.add(Trade(trade_id=line.trade_id, account_id=line.account_id, currency_code=line.currency, side=fill.side,
                             quantity=fill.quantity, price=fill.price, fee=fill.fee, fee_currency=line.fee_currency,
                             jpy=fill.jpy, executed_at=fill.at))
    db.session.flush()
    return ImportResult(len(lines), len(new), len(lines) - len(new))


def import_transfers(data: bytes, *, source: str, zone: str, now: datetime) -> ImportResult:
    """As import_trades, for deposits and withdrawals of crypto-assets."""
    lines = read_transfers(data, _places(), _find_accounts, zone=zone, now=now)
    recorded = _recorded(Transfer.transfer_id, [line.transfer_id for line in lines])
    new = sorted((line for line in lines if line.transfer_id not in recorded), key=lambda line: (line.at, line.line))
    for line in new:
        change = line.quantity if line.direction == "in" else -line.quantity
        reason = reasons.transfer(line.transfer_id, line.direction, line.currency, line.quantity)
        _adjust(line.line, line.account_id, line.currency, change, reason, source, line.at, f"transfer:{line.transfer_id}")
        db.session.add(Transfer(transfer_id=line.transfer_id, account_id=line.account_id, currency_code=line.currency,
                                direction=line.direction, quantity=line.quantity, at=line.at))
    db.session.flush()
    return ImportResult(len(lines), len(new), len(lines) - len(new))


def _adjust(line: int, account_id: int, code: str, change: Decimal, reason, source: str, at: datetime, key: str) -> None:
    try:
        adjust(account_id, code, available=change, reason=reason, source=source, at=at, key=key)
    except LedgerError as error:
        raise FileRefused([Problem(line, str(error))]) from None


def _places() -> dict[str, int]:
    return dict(db.session.execute(select(Currency.code, Currency.decimals).where(Currency.enabled.is_(True))).all())


def _find_accounts(emails: Iterable[str]) -> dict[str, int]:
    emails, found = list(emails), {}
    for start in range(0, len(emails), 1000):  # SQLite's limit on bound parameters
        found.update(db.session.execute(select(Account.email, Account.id).where(Account.email.in_(emails[start:start + 1000]))).all())
    return found


def _recorded(column, identifiers: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(identifiers), 1000):  # SQLite's limit on bound parameters
        found.update(db.session.execute(select(column).where(column.in_(identifiers[start:start + 1000]))).scalars())
    return found
