"""Applying a recorded compensation plan: per batch of accounts one transaction that credits the
JPY, takes the currency (available first, then in use), journals both with a key per plan and
account, and records the line — so a run stopped anywhere, even by kill -9, and started again
finishes the rest exactly once, and two runs at the same time credit each account once."""
from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from dashboard.core.compensation import EXACT
from dashboard.core.formatting import plain
from dashboard.extensions import db
from dashboard.ledger import reasons
from dashboard.ledger.batches import (
    Figures,
    account_ids,
    execute_arrays,
    lock_many,
    on_postgresql,
    recorded_keys,
    texts,
    write_locked,
)
from dashboard.ledger.changes import BalanceChange, add, in_transaction, subtract
from dashboard.ledger.compensation_plans import Plan, PlanLine
from dashboard.metrics import COMPENSATION_ROWS
from dashboard.models import Account, CompensationLine, Currency, utcnow

BATCH_SIZE = 1000
APPLIED, REFUSED = "applied", "refused"
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Refusal:
    email: str
    quantity: Decimal
    jpy: Decimal
    detail: str


@dataclass
class RunResult:
    applied: int = 0
    # Applied before this run (an earlier or a concurrent run), found by their journal keys.
    already_applied: int = 0
    refused: list[Refusal] = field(default_factory=list)
    batches: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Tally:
    count: int = 0
    quantity: Decimal = _ZERO
    jpy: Decimal = _ZERO


@dataclass(frozen=True)
class PlanStatus:
    applied: Tally
    refused: Tally
    pending: Tally
    refusals: list[Refusal]


def idempotency_key(plan: Plan, account_id: int, currency: str) -> str:
    """One per plan, account and currency (at most 36 + 2 × 10 + 12 characters, within the column's 100)."""
    return f"compensation:{plan.record.identity}:{account_id}:{currency}"


def apply_plan(plan: Plan, *, source: str, reason_text: str | None = None, batch_size: int = BATCH_SIZE,
               after_batch: Callable[[int], None] | None = None) -> RunResult:
    """Apply every line not yet applied, batch by batch, each batch committed on its own."""
    currency = db.session.get(Currency, plan.record.currency_code)
    # By email, so that the lines applied by an earlier run cost no statement at all.
    done = set(db.session.execute(
        select(Account.email).join(CompensationLine, CompensationLine.account_id == Account.id)
        .where(CompensationLine.plan_id == plan.record.id, CompensationLine.status == APPLIED)
    ).scalars())
    db.session.rollback()  # no snapshot held open across the run
    result = RunResult(already_applied=sum(1 for line in plan.lines if line.email in done))
    todo = [line for line in plan.lines if line.email not in done]
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        outcome, retries = in_transaction(lambda batch=batch: _apply_batch(plan, currency, batch, reason_text, source))
        # Committed now: counted once, whatever a retry did before.
        COMPENSATION_ROWS.labels("applied").inc(outcome.applied)
        COMPENSATION_ROWS.labels("refused").inc(len(outcome.refused))
        result.applied += outcome.applied
        result.already_applied += outcome.already_applied
        result.refused += outcome.refused
        result.retries += retries
        result.batches += 1
        if after_batch is not None:
            after_batch(result.batches)
    return result


def plan_status(plan: Plan) -> PlanStatus:
    """Applied and refused lines as recorded, pending the rest, each with its totals."""
    emails = {account_id: email for account_id, email in db.session.execute(
        select(CompensationLine.account_id, Account.email).join(Account, Account.id == CompensationLine.account_id)
        .where(CompensationLine.plan_id == plan.record.id, CompensationLine.status == REFUSED))}
    tallies = {APPLIED: [0, _ZERO, _ZERO], REFUSED: [0, _ZERO, _ZERO]}
    refusals = []
    with decimal.localcontext(EXACT):
        # Summed here, not by SQL: SQLite keeps the amounts as text, and its SUM would be a float's.
        for account_id, status, quantity, jpy, detail in db.session.execute(
            select(CompensationLine.account_id, CompensationLine.status, CompensationLine.quantity, CompensationLine.jpy,
                   CompensationLine.detail).where(CompensationLine.plan_id == plan.record.id)
            .execution_options(yield_per=10_000)
        ):
            tally = tallies[status]
            tally[0] += 1
            tally[1] += quantity
            tally[2] += jpy
            if status == REFUSED:
                refusals.append(Refusal(emails[account_id], quantity, jpy, detail or ""))
        applied, refused = Tally(*tallies[APPLIED]), Tally(*tallies[REFUSED])
        pending = Tally(plan.record.holders - applied.count - refused.count,
                        plan.record.total_quantity - applied.quantity - refused.quantity,
                        plan.record.total_jpy - applied.jpy - refused.jpy)
    return PlanStatus(applied, refused, pending, sorted(refusals, key=lambda refusal: refusal.email))


@dataclass
class _BatchOutcome:
    applied: int = 0
    already_applied: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _apply_batch(plan: Plan, currency: Currency, batch: list[PlanLine], reason_text: str | None,
                 source: str) -> _BatchOutcome:
    outcome = _BatchOutcome()
    accounts = account_ids([line.email for line in batch])
    todo: list[tuple[int, PlanLine]] = []
    for line in batch:
        account_id = accounts.get(line.email)
        if account_id is None:
            # An account with a journal cannot be deleted; only a changed email lands here.
            outcome.refused.append(Refusal(line.email, line.quantity, line.jpy, "no account with this email"))
        else:
            todo.append((account_id, line))
    if not todo:
        return outcome
    code = currency.code
    locked = lock_many({(account_id, wanted) for account_id, _ in todo for wanted in ("jpy", code)})
    # The key is the authority, read under the locks: a concurrent run's commit is seen here.
    applied_before = recorded_keys([idempotency_key(plan, account_id, code) for account_id, _ in todo])
    changes: list[BalanceChange] = []
    records: list[tuple] = []
    for account_id, line in todo:
        key = idempotency_key(plan, account_id, code)
        if key in applied_before:
            outcome.already_applied += 1
            continue
        held = locked[account_id, code]
        if held.total < line.quantity:
            detail = f"holds {plain(held.total)} {code.upper()} now, fewer than the {plain(line.quantity)} planned"
            outcome.refused.append(Refusal(line.email, line.quantity, line.jpy, detail))
            records.append((account_id, line.quantity, line.jpy, REFUSED, detail))
            continue
        reason = reasons.Reason(reason_text) if reason_text else reasons.compensation(code, currency.name, plan.record.rate, line.quantity)
        changes.append(BalanceChange(account_id, code, *_take(held, line.quantity), key=key, reason=reason))
        if line.jpy > 0:
            yen = locked[account_id, "jpy"]
            changes.append(BalanceChange(account_id, "jpy", add(yen.available, line.jpy), yen.in_use,
                                         key=idempotency_key(plan, account_id, "jpy"), reason=reason))
        records.append((account_id, line.quantity, line.jpy, APPLIED, None))
        outcome.applied += 1
    write_locked(changes, locked, source=source)
    if records:
        _record_lines(plan, records)
    return outcome


_LINE_COLUMNS = ("account_id", "quantity", "jpy", "status", "detail")
# A line refused by an earlier run may be applied (or refused again, for a new reason) now.
_UPSERT_LINES = """
INSERT INTO compensation_lines (account_id, quantity, jpy, status, detail, plan_id, recorded_at)
SELECT *, %(plan_id)s::integer, %(now)s::timestamptz
FROM unnest(%(account_id)b::integer[], %(quantity)b::text[]::numeric[], %(jpy)b::text[]::numeric[], %(status)b::text[],
            %(detail)b::text[])
ON CONFLICT (plan_id, account_id) DO UPDATE SET status = excluded.status, detail = excluded.detail,
                                                recorded_at = excluded.recorded_at
"""


def _record_lines(plan: Plan, records: list[tuple]) -> None:
    """What became of each line, in the batch's transaction: one statement on PostgreSQL."""
    now = utcnow()
    if on_postgresql():
        account_id, quantity, jpy, status, detail = map(list, zip(*records, strict=True))
        execute_arrays(_UPSERT_LINES, {"account_id": account_id, "quantity": texts(quantity), "jpy": texts(jpy), "status": status,
                                       "detail": detail, "plan_id": plan.record.id, "now": now})
        return
    insert = sqlite.insert(CompensationLine.__table__)
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["plan_id", "account_id"],
        set_={"status": insert.excluded.status, "detail": insert.excluded.detail, "recorded_at": insert.excluded.recorded_at},
    ), [dict(zip(_LINE_COLUMNS, record, strict=True)) | {"plan_id": plan.record.id, "recorded_at": now} for record in records])


def _take(held: Figures, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """The figures after taking `quantity`: from available first, the rest from in use."""
    from_available = min(held.available, quantity)
    return subtract(held.available, from_available), subtract(held.in_use, subtract(quantity, from_available))
