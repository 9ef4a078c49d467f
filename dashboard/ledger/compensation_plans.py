"""Compensation plans: who held how much of a currency at a past moment (from the journal) and
the whole yen each is owed, written to a file for review and recorded with its SHA-256, so that
only that file, byte for byte, can be applied."""
from __future__ import annotations

import csv
import decimal
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from dashboard.core.compensation import EXACT, ROUNDING_RULES, owed_jpy
from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger.imports import MAX_FILE_BYTES, parse_amount
from dashboard.ledger.journal import holdings_as_of
from dashboard.models import CompensationPlan, Currency, utcnow

PLAN_HEADER = ("email", "quantity", "jpy")
# The first line names the plan, so a file from another database is told from an edited one.
_TITLE = re.compile(r"# compensation plan ([0-9a-f-]{36}):.*")
_ZERO = Decimal(0)


class PlanRefused(ValueError):
    """The plan cannot be made, or the file is not a plan recorded here; nothing was changed."""


@dataclass(frozen=True)
class PlanLine:
    email: str
    quantity: Decimal
    jpy: Decimal


@dataclass(frozen=True)
class Plan:
    record: CompensationPlan
    lines: list[PlanLine]
    data: bytes


def make_plan(currency: str, rate: Decimal, snapshot: datetime, rounding: str, *, created_by: str) -> Plan:
    """Record a plan in the caller's transaction (the caller commits once its file is written)."""
    record_currency = db.session.get(Currency, currency.strip().lower())
    if record_currency is None:
        raise PlanRefused(f"unknown currency {currency.strip()[:20]!r}")
    if record_currency.code == "jpy":
        raise PlanRefused("compensation is paid in JPY: choose the crypto-asset that was held (e.g. --currency xem)")
    if rate <= 0:
        raise PlanRefused(f"the rate must be greater than 0, got {plain(rate)}")
    if rounding not in ROUNDING_RULES:
        raise PlanRefused(f"unknown rounding rule {rounding!r}; use one of: {', '.join(ROUNDING_RULES)}")
    if snapshot > utcnow():
        raise PlanRefused(f"the snapshot {snapshot.isoformat()} is in the future: holdings are known only up to now")
    lines, total_quantity, total_jpy, rounded_away = [], _ZERO, _ZERO, _ZERO
    with decimal.localcontext(EXACT):
        for holding in holdings_as_of(snapshot, record_currency.code):
            quantity = holding.available + holding.in_use
            if quantity <= 0:
                continue
            jpy, lost = owed_jpy(quantity, rate, rounding)
            lines.append(PlanLine(holding.email, quantity, jpy))
            total_quantity += quantity
            total_jpy += jpy
            rounded_away += lost
    if not lines:
        raise PlanRefused(f"no account held {record_currency.code.upper()} at {snapshot.isoformat()}: there is nothing to plan")
    identity = str(uuid.uuid4())
    data = _render(identity, record_currency.code, rate, snapshot, rounding, lines)
    record = CompensationPlan(
        identity=identity, digest=hashlib.sha256(data).hexdigest(), currency_code=record_currency.code, rate=rate,
        snapshot_at=snapshot, rounding=rounding, holders=len(lines), total_quantity=total_quantity,
        total_jpy=total_jpy, rounded_away=rounded_away, created_by=created_by[:200],
    )
    db.session.add(record)
    db.session.flush()
    return Plan(record, lines, data)


def read_plan(data: bytes) -> Plan:
    """The recorded plan this file is, byte for byte, with its lines. Refused: a file that names
    no plan, a plan not made on this database, and a plan's file changed in any way."""
    if len(data) > MAX_FILE_BYTES:
        raise PlanRefused(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: not a compensation plan")
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    title = _TITLE.fullmatch(first)
    if title is None:
        raise PlanRefused("not a compensation plan: the first line must be the '# compensation plan …' line `compensation plan` wrote")
    record = db.session.execute(select(CompensationPlan).where(CompensationPlan.identity == title.group(1))).scalar_one_or_none()
    if record is None:
        raise PlanRefused(f"plan {title.group(1)} was not made on this database: apply a plan where it was planned")
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.digest:
        raise PlanRefused(f"the file differs from plan {record.identity} as recorded (sha256 {digest[:16]}…, recorded "
                          f"{record.digest[:16]}…): it was edited; make a new plan instead")
    return Plan(record, _parse_lines(data, record), data)


def _render(identity: str, currency: str, rate: Decimal, snapshot: datetime, rounding: str, lines: list[PlanLine]) -> bytes:
    stream = io.StringIO(newline="")
    stream.write(f"# compensation plan {identity}: {currency} at {plain(rate)} JPY per unit held at "
                 f"{snapshot.isoformat()}, rounding {rounding}, {len(lines)} holders\n")
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(PLAN_HEADER)
    for line in lines:
        writer.writerow((line.email, plain(line.quantity), plain(line.jpy)))
    return stream.getvalue().encode("utf-8")


def _parse_lines(data: bytes, record: CompensationPlan) -> list[PlanLine]:
    """A recorded plan's lines. The digest already vouches for them; still read strictly, so a
    plan written by an older version that this one reads differently fails loudly."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if len(rows) < 2 or tuple(rows[1]) != PLAN_HEADER:
        raise PlanRefused("the plan's second line must be the header email,quantity,jpy")
    lines = []
    for number, row in enumerate(rows[2:], start=3):
        try:
            email, quantity, jpy = row
            lines.append(PlanLine(email, parse_amount(quantity, 18), parse_amount(jpy, 0)))
        except ValueError as error:
            raise PlanRefused(f"line {number} of the plan cannot be read: {error}") from None
    if len(lines) != record.holders:
        raise PlanRefused(f"the plan lists {len(lines)} holders, its record {record.holders}")
    return lines
