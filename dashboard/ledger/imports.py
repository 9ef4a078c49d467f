"""Reading operator input: balance and rate CSV files, validated whole with every bad line
reported by number before anything is written, and timestamps."""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboard.core.formatting import normalize
from dashboard.core.terminal_text import restore_cell
from dashboard.ledger.rates import RateError, check_rate_currency, parse_rate
from dashboard.types import INTEGER_DIGITS, SCALE

BALANCE_HEADER = ("email", "currency", "available", "in_use")
RATE_HEADERS = (("currency", "jpy_rate"), ("currency", "jpy_rate", "as_of"))
# Far above any real file; stops a wrong path (a disk image, a log) being read into memory.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Plain notation only: digits, optionally one '.' and more digits. No sign, exponent, grouping,
# NaN or Infinity, and only ASCII digits (Python's Decimal would take "٣" or "1_000").
_PLAIN = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class FileRefused(ValueError):
    """The file has problems; nothing of it may be applied."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = sorted(problems, key=lambda problem: problem.line or 0)


@dataclass(frozen=True)
class BalanceLine:
    line: int
    email: str
    account_id: int
    currency: str
    available: Decimal
    in_use: Decimal


@dataclass(frozen=True)
class RateLine:
    line: int
    currency: str
    jpy_rate: Decimal
    as_of: datetime | None
    zone_assumed: bool = False  # as_of had no offset and was read in the display zone


def parse_amount(text: str, decimals: int, *, signed: bool = False) -> Decimal:
    """An amount in plain notation ("1234.5"), exact, with at most `decimals` places once
    trailing zeros are dropped. `signed` allows a leading + or - (for adjustments)."""
    raw = text.strip()
    sign = ""
    if signed and raw and raw[0] in "+-":
        sign, raw = raw[0], raw[1:]
    if not raw:
        raise ValueError("missing amount")
    if not _PLAIN.fullmatch(raw):
        if raw[0] == "-" and _PLAIN.fullmatch(raw[1:]):
            raise ValueError(f"negative amount {text.strip()}")
        raise ValueError(f"not a plain decimal number: {text.strip()[:40]!r} (digits and one '.'; no exponent, NaN or Infinity)")
    value = Decimal(sign + raw)
    if not value.is_zero() and value.adjusted() >= INTEGER_DIGITS:
        raise ValueError(f"too large: more than {INTEGER_DIGITS} integer digits")
    value = normalize(value)
    places = -value.as_tuple().exponent
    if places > decimals:
        raise ValueError(f"{format(value, 'f')} has {places} decimal places; the currency has {decimals}")
    return value


def parse_moment(text: str, zone: str) -> tuple[datetime, bool]:
    """An ISO 8601 timestamp as an aware datetime, and whether it had no offset and was
    therefore read in `zone` (the display zone)."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {raw[:40]!r} (e.g. 2018-01-26T23:59:59+09:00)") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(zone)), True
    return moment, False


def read_balances(
    data: bytes,
    currencies: Mapping[str, int],
    find_accounts: Callable[[Iterable[str]], Mapping[str, int]],
) -> list[BalanceLine]:
    """The lines of an `email,currency,available,in_use` file. currencies maps code to decimal
    places; find_accounts maps the emails that exist to account ids. Raises FileRefused."""
    rows, problems = _read_table(data, (BALANCE_HEADER,))
    seen: dict[tuple[str, str], int] = {}
    emails: list[tuple[int, str]] = []
    good = []
    for line, (email, currency, available, in_use) in rows:
        errors = []
        email = restore_cell(email.strip()).lower()
        if email:
            emails.append((line, email))
        else:
            errors.append("missing email")
        code = currency.strip().lower()
        decimals = currencies.get(code)
        if decimals is None:
            errors.append(f"unknown currency {currency.strip()[:20]!r}")
        figures = []
        for name, text in (("available", available), ("in_use", in_use)):
            try:
                figures.append(parse_amount(text, SCALE if decimals is None else decimals))
            except ValueError as error:
                errors.append(f"{name}: {error}")
        if email and decimals is not None:
            if (email, code) in seen:
                errors.append(f"duplicate of line {seen[email, code]} ({email}, {code})")
            else:
                seen[email, code] = line
        problems.extend(Problem(line, error) for error in errors)
        if not errors:
            good.append((line, email, code, *figures))
    accounts = find_accounts({email for _, email in emails})
    problems.extend(Problem(line, f"unknown account {email[:80]}") for line, email in emails if email not in accounts)
    if problems:
        raise FileRefused(problems)
    return [BalanceLine(line, email, accounts[email], code, available, in_use) for line, email, code, available, in_use in good]


def read_rates(data: bytes, currencies: Mapping[str, bool], *, zone: str, now: datetime) -> list[RateLine]:
    """The lines of a `currency,jpy_rate[,as_of]` file. currencies maps code to enabled; an
    empty or missing as_of means now. Raises FileRefused."""
    rows, problems = _read_table(data, RATE_HEADERS)
    seen: dict[str, int] = {}
    good = []
    for line, fields in rows:
        errors = []
        currency, rate_text, as_of_text = (*fields, "")[:3]
        code = currency.strip().lower()
        try:
            code = check_rate_currency(code, currencies)
            if code in seen:
                errors.append(f"duplicate of line {seen[code]} ({code})")
            else:
                seen[code] = line
        except RateError as error:
            errors.append(str(error))
        jpy_rate = as_of = None
        assumed = False
        if not _PLAIN.fullmatch(rate_text.strip().removeprefix("-")):  # a '-' is reported as not > 0
            errors.append(f"jpy_rate: not a plain decimal number: {rate_text.strip()[:40]!r}")
        else:
            try:
                jpy_rate = parse_rate(rate_text)
            except RateError as error:
                errors.append(f"jpy_rate: {error}")
        if as_of_text.strip():
            try:
                as_of, assumed = parse_moment(as_of_text, zone)
                if as_of > now:
                    errors.append(f"as_of {as_of_text.strip()} is in the future")
            except ValueError as error:
                errors.append(f"as_of: {error}")
        problems.extend(Problem(line, error) for error in errors)
        if not errors:
            good.append(RateLine(line, code, jpy_rate, as_of, assumed))
    if problems:
        raise FileRefused(problems)
    return good


def read_table(data: bytes, headers: tuple[tuple[str, ...], ...]) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The rows of a CSV file with one of `headers` (see _read_table), for the other importers."""
    return _read_table(data, headers)


def _read_table(data: bytes, headers: tuple[tuple[str, ...], ...]) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The rows after a header that is one of `headers`, each with its line number and the
    header's number of fields, and the problems of the rows left out (the caller goes on
    checking the good rows, so that one run reports every bad line). Raises FileRefused for
    what makes the file unreadable as a whole."""
    expected = " or ".join(",".join(header) for header in headers)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused([Problem(None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")])
    text, problems = _decode(data)
    if not text.strip():
        raise FileRefused([Problem(None, f"the file is empty: expected the header {expected}")])
    undecodable = {problem.line for problem in problems}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header = None
    try:
        for row in reader:
            if header is None:
                header = tuple(field.strip().lower() for field in row)
                if header not in headers:
                    found = ",".join(row)[:80]
                    raise FileRefused([*problems, Problem(reader.line_num, f"expected the header {expected}, found {found!r}")])
                continue
            if reader.line_num in undecodable:
                continue  # already reported
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines, such as a trailing one, carry nothing
            if len(row) != len(header):
                problems.append(Problem(reader.line_num, f"expected {len(header)} fields ({','.join(header)}), found {len(row)}"))
                continue
            rows.append((reader.line_num, row))
    except csv.Error as error:
        problems.append(Problem(reader.line_num, f"unreadable CSV: {error}"))
        raise FileRefused(problems) from None
    if not rows and not problems:
        problems.append(Problem(None, "the file has a header but no lines after it"))
    return rows, problems


def _decode(data: bytes) -> tuple[str, list[Problem]]:
    """UTF-8 text (a leading byte-order mark, as spreadsheets write, is dropped), and a problem
    for every line that is not UTF-8; such lines are decoded with replacement characters so
    that the rest of the file can still be checked."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    problems, lines = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            problems.append(Problem(number, f"not UTF-8 text (byte {raw[error.start]:#04x} at column {error.start + 1})"))
            lines.append(raw.decode("utf-8", "replace"))
    return "\n".join(lines), problems
