"""Fills a bench schema with N accounts × 14 balances and the rates, by COPY, in one transaction.

Run alone: python -m bench.load --accounts 1700000 [--schema bench_1700000] [--keep-constraints]
"""
from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from psycopg import sql
from werkzeug.security import generate_password_hash

from dashboard.core.currencies import CURRENCIES
from dashboard.ledger.demo import DEMO_BALANCES, DEMO_RATES

from . import schema as bench_schema

BENCH_PASSWORD = "benchpass"
EMAIL_DOMAIN = "bench.example"
RATE_SOURCE = "bench"
# Varied wallets, exact Decimals: the demo figures times one of these (0: an empty wallet).
FACTORS = (Decimal(1), Decimal(2), Decimal("0.5"), Decimal(0), Decimal(3), Decimal(10), Decimal("1.25"))
CHUNK_ACCOUNTS = 20_000
MARKER = "bench: {} accounts loaded in {:.1f} s"


# Tables whose change notifications name accounts (migration 0011): their insert trigger is
# switched off for the COPY, whose transition table would otherwise hold every copied row.
ROW_NOTIFYING_TABLES = ("accounts", "balances")


def bench_email(account_id: int) -> str:
    return f"account{account_id:08d}@{EMAIL_DOMAIN}"


def middle_account(accounts: int) -> int:
    """The account the bench signs in as: half-way through the ids, not the first page of any index."""
    return max(1, (accounts + 1) // 2)


@dataclass
class LoadReport:
    accounts: int
    balances: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def _balance_templates() -> list[list[str]]:
    """Per factor, the 14 lines of one account's balances split where its id goes, so a block
    is built by one str.join in C rather than 14 Python format calls."""
    codes = [code for code, _name, _decimals in CURRENCIES]
    templates = []
    for factor in FACTORS:
        lines = []
        for code in codes:
            available, in_use = DEMO_BALANCES.get(code, (Decimal(0), Decimal(0)))
            lines.append(f"\t{code}\t{available * factor:f}\t{in_use * factor:f}\n")
        # "".join of [id, line, id, line ...] == id.join(["", line, line ...]) with the id before each line.
        templates.append([""] + lines)
    return templates


def _account_lines(first: int, last: int, password_hash: str, created: str) -> str:
    tail = f"\t{password_hash}\t\\N\tf\tt\t{created}\n"
    return "".join(f"{i}\taccount{i:08d}@{EMAIL_DOMAIN}{tail}" for i in range(first, last + 1))


def _balance_lines(first: int, last: int, templates: list[list[str]]) -> str:
    n = len(templates)
    return "".join(str(i).join(templates[i % n]) for i in range(first, last + 1))


def _copy(cursor, statement, chunks) -> None:
    with cursor.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)


def _chunks(accounts: int, make) -> object:
    for first in range(1, accounts + 1, CHUNK_ACCOUNTS):
        yield make(first, min(first + CHUNK_ACCOUNTS - 1, accounts))


def _balances_structures(cursor) -> tuple[list[str], list[str]]:
    """The primary key, foreign keys and plain indexes of balances, as DDL to drop and re-create:
    read from the catalogue, so whatever the migrations say survives the load unchanged."""
    cursor.execute(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'balances'::regclass AND contype IN ('p', 'f') ORDER BY contype DESC"""
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'balances'
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'balances'::regclass)"""
    )
    indexes = cursor.fetchall()
    drops = [sql.SQL("ALTER TABLE balances DROP CONSTRAINT {}").format(sql.Identifier(name)) for name, _ in reversed(constraints)]
    drops += [sql.SQL("DROP INDEX {}").format(sql.Identifier(name)) for name, _ in indexes]
    creates = [sql.SQL("ALTER TABLE balances ADD CONSTRAINT {} ").format(sql.Identifier(name)) + sql.SQL(definition) for name, definition in constraints]
    creates += [sql.SQL(definition) for _, definition in indexes]
    return drops, creates


def loaded_accounts(schema: str) -> tuple[int, float | None] | None:
    """(accounts, load seconds) of the finished load schema holds, or None when it holds none."""
    if not bench_schema.exists(schema):
        return None
    with bench_schema.connect(schema) as connection:
        comment = connection.execute("SELECT obj_description(%s::regnamespace, 'pg_namespace')", (schema,)).fetchone()[0]
        marker = re.fullmatch(r"bench: (\d+) accounts loaded(?: in ([\d.]+) s)?", comment or "")
        if not marker:
            return None
        count = connection.execute("SELECT count(*) FROM accounts WHERE email LIKE %s", ("%@" + EMAIL_DOMAIN,)).fetchone()[0]
    if count != int(marker.group(1)):
        return None
    return count, float(marker.group(2)) if marker.group(2) else None


def load(schema: str, accounts: int, *, keep_constraints: bool = False, log=print) -> LoadReport:
    """Replace the schema's accounts, balances and rates with `accounts` bench accounts. One
    transaction: a failed or interrupted load leaves the previous contents in place."""
    if accounts < 1:
        raise ValueError("the number of accounts must be at least 1")
    report = LoadReport(accounts)
    start = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = now - clock
        clock = now
        log(f"  {name}: {report.seconds[name]:.1f} s")

    password_hash = generate_password_hash(BENCH_PASSWORD)
    created = datetime.now(UTC).isoformat()
    templates = _balance_templates()
    with bench_schema.connect(schema) as connection, connection.cursor() as cursor:
        # Losing this load to a crash costs only a rerun, so the commit need not wait for the disk.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # Truncated in this transaction, so COPY FREEZE can write the rows already frozen and
        # visible to all: no hint-bit rewrite of 2 GB on the first reads after the load.
        cursor.execute("TRUNCATE accounts, balances, rates, login_sessions CASCADE")
        # The TRUNCATE already tells every listening app that everything changed (migration
        # 0004); reading 24 M copied rows back to name their accounts would only cost load time.
        for table in ROW_NOTIFYING_TABLES:
            cursor.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(sql.Identifier(table), sql.Identifier(f"{table}_notify_insert")))
        drops, creates = ([], []) if keep_constraints else _balances_structures(cursor)
        for statement in drops:
            cursor.execute(statement)
        lap("truncate")
        _copy(
            cursor,
            "COPY accounts (id, email, password_hash, preferred_language, never_prompt_language,"
            " show_net_assets_in_header, created_at) FROM STDIN WITH (FREEZE)",
            _chunks(accounts, lambda first, last: _account_lines(first, last, password_hash, created)),
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('accounts', 'id'), %s)", (accounts,))
        lap("copy accounts")
        _copy(
            cursor,
            "COPY balances (account_id, currency_code, available, in_use) FROM STDIN WITH (FREEZE)",
            _chunks(accounts, lambda first, last: _balance_lines(first, last, templates)),
        )
        report.balances = accounts * len(CURRENCIES)
        lap("copy balances")
        for statement in creates:
            cursor.execute(statement)
        for table in ROW_NOTIFYING_TABLES:
            cursor.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(sql.Identifier(table), sql.Identifier(f"{table}_notify_insert")))
        lap("constraints")
        _copy(
            cursor,
            "COPY rates (currency_code, jpy_rate, as_of, source) FROM STDIN",
            [f"{code}\t{rate:f}\t{created}\t{RATE_SOURCE}\n" for code, rate in DEMO_RATES.items()],
        )
        cursor.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(MARKER.format(accounts, time.perf_counter() - start))))
        connection.commit()
        lap("commit")
    with bench_schema.connect(schema, autocommit=True) as connection:
        # Fresh statistics so the planner sees 23.8 M balances, not an empty table.
        connection.execute("ANALYZE accounts, balances, rates, currencies")
    lap("analyze")
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--schema", help="default: bench_<accounts>")
    parser.add_argument("--keep-constraints", action="store_true", help="load with the primary and foreign keys of balances in place")
    args = parser.parse_args(argv)
    if args.accounts < 1:
        parser.error("--accounts must be at least 1")
    schema = bench_schema.check_schema(args.schema) if args.schema else bench_schema.schema_name("bench", args.accounts)
    bench_schema.migrate(schema)
    print(f"loading {args.accounts:,} accounts into schema {schema}")
    report = load(schema, args.accounts, keep_constraints=args.keep_constraints)
    print(f"loaded {report.accounts:,} accounts and {report.balances:,} balances in {report.total:.1f} s")


if __name__ == "__main__":
    main()
