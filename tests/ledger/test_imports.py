"""Balance files: every bad line reported by number and nothing imported; a good file applied
whole in one transaction and only once; the export in the same exact format."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from dashboard.core.currencies import CURRENCIES
from dashboard.extensions import db
from dashboard.ledger.imports import FileRefused, parse_amount, parse_moment, read_balances
from dashboard.models import Account, Balance, JournalEntry

DECIMALS = {code: decimals for code, _name, decimals in CURRENCIES}
KNOWN = {"alice@example.com": 1, "bob@example.com": 2}
HEADER = "email,currency,available,in_use\n"


def find_known(emails):
    return {email: KNOWN[email] for email in emails if email in KNOWN}


def problems_of(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(FileRefused) as refused:
        read_balances(data, DECIMALS, find_known)
    return [str(problem) for problem in refused.value.problems]


# --- the pure reading of a file --------------------------------------------------------------

@pytest.mark.parametrize("text, decimals, expected", [
    ("0", 8, "0"), ("1234567", 0, "1234567"), (" 0.12345678 ", 8, "0.12345678"), ("1000.000", 0, "1000"),
    ("9999999999999999999999.999999", 6, "9999999999999999999999.999999"),
])
def test_plain_amounts_are_read_exactly(text, decimals, expected):
    value = parse_amount(text, decimals)
    assert isinstance(value, Decimal) and format(value, "f") == expected


def test_a_fraction_the_currency_does_not_have_is_refused():
    with pytest.raises(ValueError, match="1.5 has 1 decimal places; the currency has 0"):
        parse_amount("1.50000", 0)


@pytest.mark.parametrize("text, message", [
    ("-1", "negative amount -1"), ("1e5", "not a plain decimal number"), ("NaN", "not a plain"), ("Infinity", "not a plain"),
    ("inf", "not a plain"), ("1,000", "not a plain"), ("1_000", "not a plain"), ("+1", "not a plain"), (".5", "not a plain"),
    ("5.", "not a plain"), ("١", "not a plain"), ("", "missing amount"), ("0x10", "not a plain"),
    ("0.123456789", "9 decimal places; the currency has 8"), ("12345678901234567890123", "too large"),
])
def test_amounts_that_are_not_plain_exact_and_in_range_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(text, 8)


def test_signed_amounts_are_for_adjustments_only():
    assert parse_amount("-0.5", 8, signed=True) == Decimal("-0.5")
    assert parse_amount("+2", 8, signed=True) == Decimal(2)
    with pytest.raises(ValueError):
        parse_amount("--2", 8, signed=True)


def test_a_good_file_reads_into_exact_lines():
    data = ("\ufeff" + "Email , Currency,available,IN_USE\r\n"
            "Alice@Example.com,BTC,0.12345678,0.05\r\n"
            '"bob@example.com",xem,"1000000.5",0\r\n'
            "\r\n").encode()
    lines = read_balances(data, DECIMALS, find_known)
    assert [(line.line, line.email, line.account_id, line.currency, line.available, line.in_use) for line in lines] == [
        (2, "alice@example.com", 1, "btc", Decimal("0.12345678"), Decimal("0.05")),
        (3, "bob@example.com", 2, "xem", Decimal("1000000.5"), Decimal(0)),
    ]


def test_every_bad_line_is_reported_with_its_number():
    text = HEADER + "\n".join([
        "alice@example.com,btc,1,0",             # 2 good
        "nobody@example.com,btc,1,0",            # 3 unknown account
        "alice@example.com,doge,1,0",            # 4 unknown currency
        "alice@example.com,eth,-1,0",            # 5 negative
        "alice@example.com,etc,abc,0",           # 6 non-numeric
        "alice@example.com,lsk,NaN,Infinity",    # 7 NaN and Infinity
        "alice@example.com,fct,1e3,0",           # 8 exponent
        "alice@example.com,xem,0.1234567,0",     # 9 7 decimals, XEM has 6
        "alice@example.com,BTC,2,0",             # 10 duplicate of line 2
        "alice@example.com,xmr,1,0,extra",      # 11 too many fields
        "alice@example.com,xrp,1",               # 12 too few
        ",jpy,1,0",                              # 13 missing email
        "bob@example.com,jpy,100,0",             # 14 good
    ]) + "\n"
    assert problems_of(text) == [
        "line 3: unknown account nobody@example.com",
        "line 4: unknown currency 'doge'",
        "line 5: available: negative amount -1",
        "line 6: available: not a plain decimal number: 'abc' (digits and one '.'; no exponent, NaN or Infinity)",
        "line 7: available: not a plain decimal number: 'NaN' (digits and one '.'; no exponent, NaN or Infinity)",
        "line 7: in_use: not a plain decimal number: 'Infinity' (digits and one '.'; no exponent, NaN or Infinity)",
        "line 8: available: not a plain decimal number: '1e3' (digits and one '.'; no exponent, NaN or Infinity)",
        "line 9: available: 0.1234567 has 7 decimal places; the currency has 6",
        "line 10: duplicate of line 2 (alice@example.com, btc)",
        "line 11: expected 4 fields (email,currency,available,in_use), found 5",
        "line 12: expected 4 fields (email,currency,available,in_use), found 3",
        "line 13: missing email",
    ]


@pytest.mark.parametrize("data, expected", [
    (b"", ["the file is empty: expected the header email,currency,available,in_use"]),
    (b"\n\n", ["the file is empty: expected the header email,currency,available,in_use"]),
    (HEADER.encode(), ["the file has a header but no lines after it"]),
    (b"email,currency,amount\nalice@example.com,btc,1\n", ["line 1: expected the header email,currency,available,in_use, found 'email,currency,amount'"]),
    (b"alice@example.com,btc,1,0\n", ["line 1: expected the header email,currency,available,in_use, found 'alice@example.com,btc,1,0'"]),
    (HEADER.encode() + b"alice@example.com,btc,1,0\nbob@example.com,btc,\xff\xfe,0\nbob@example.com,xem,1,\xe3\x81\n",
     ["line 3: not UTF-8 text (byte 0xff at column 21)", "line 4: not UTF-8 text (byte 0xe3 at column 23)"]),
    ("email,currency,available,in_use\nalice@example.com,btc,1,0\n".encode("utf-16"), None),
    (HEADER.encode() + b'alice@example.com,btc,"1,0\n', None),
    (HEADER.encode() + b"alice@example.com,btc,1\x00,0\n", None),
])
def test_unreadable_files_are_refused_with_a_clear_reason(data, expected):
    problems = problems_of(data)
    if expected is not None:
        assert problems == expected
    else:
        assert problems and all(problem.startswith(("line ", "the file")) for problem in problems)


def test_a_non_utf8_line_does_not_hide_the_other_bad_lines():
    data = HEADER.encode() + b"alice@example.com,btc,-1,0\n\xff,btc,1,0\nalice@example.com,doge,1,0\n"
    assert problems_of(data) == [
        "line 2: available: negative amount -1", "line 3: not UTF-8 text (byte 0xff at column 1)", "line 4: unknown currency 'doge'"]


@pytest.mark.parametrize("text, utc", [
    ("2018-01-26T23:59:59+09:00", "2018-01-26T14:59:59+00:00"),
    ("2018-01-26T14:59:59Z", "2018-01-26T14:59:59+00:00"),
    ("2018-01-26 23:59:59", "2018-01-26T14:59:59+00:00"),
])
def test_timestamps_are_iso_8601_and_naive_ones_are_read_in_the_display_zone(text, utc):
    moment, assumed = parse_moment(text, "Asia/Tokyo")
    assert moment.astimezone(UTC).isoformat() == utc
    assert assumed == ("+" not in text and "Z" not in text)


@pytest.mark.parametrize("text", ["yesterday", "26/01/2018", "2018-13-01", "", "2018-01-26T25:00"])
def test_bad_timestamps_are_refused(text):
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp"):
        parse_moment(text, "Asia/Tokyo")


# --- the CLI on both databases -------------------------------------------------------------

@pytest.fixture
def accounts(app):
    with app.app_context():
        db.session.add_all(Account(email=email, password_hash="!") for email in KNOWN)  # no sign-in, no hashing
        db.session.commit()


def balances_of(app) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    with app.app_context():
        rows = db.session.execute(select(Account.email, Balance.currency_code, Balance.available, Balance.in_use).join(Account))
        return {(email, code): (available, in_use) for email, code, available, in_use in rows}


def journal_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(JournalEntry))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


GOOD = HEADER + ("alice@example.com,btc,0.12345678,0.05\n"
                 "alice@example.com,jpy,1234567,50000\n"
                 "bob@example.com,xem,99999999999999999999.999999,0\n")


def test_a_good_file_is_imported_exactly(app, runner, accounts, tmp_path):
    result = runner.invoke(args=["balances", "import", write(tmp_path, "good.csv", GOOD)])
    assert result.exit_code == 0, result.output
    assert "3 line(s): 3 balance(s) changed, 0 already so" in result.output
    assert balances_of(app) == {
        ("alice@example.com", "btc"): (Decimal("0.12345678"), Decimal("0.05")),
        ("alice@example.com", "jpy"): (Decimal(1234567), Decimal(50000)),
        ("bob@example.com", "xem"): (Decimal("99999999999999999999.999999"), Decimal(0)),
    }
    assert journal_count(app) == 3


def test_a_bad_file_imports_nothing_and_reports_every_line(app, runner, accounts, tmp_path):
    text = GOOD + "nobody@example.com,btc,1,0\nalice@example.com,eth,1.123456789,0\nbob@example.com,btc,-5,0\n"
    result = runner.invoke(args=["balances", "import", write(tmp_path, "bad.csv", text)])
    assert result.exit_code == 1
    assert "line 5: unknown account nobody@example.com" in result.output
    assert "line 6: available: 1.123456789 has 9 decimal places; the currency has 8" in result.output
    assert "line 7: available: negative amount -5" in result.output
    assert "nothing imported: 3 problem(s) in the file" in result.output
    assert balances_of(app) == {} and journal_count(app) == 0


@pytest.mark.parametrize("name, data, message", [
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", b"email;currency;available;in_use\n", "line 1: expected the header"),
    ("latin1.csv", HEADER.encode() + "alice@example.com,btc,1,0 café\n".encode("latin-1"), "line 2: not UTF-8 text"),
])
def test_unreadable_files_import_nothing(app, runner, accounts, tmp_path, name, data, message):
    result = runner.invoke(args=["balances", "import", write(tmp_path, name, data)])
    assert result.exit_code == 1 and message in result.output and "nothing imported" in result.output
    assert balances_of(app) == {}


def test_a_file_can_come_from_standard_input(app, runner, accounts):
    result = runner.invoke(args=["balances", "import", "-"], input=GOOD)
    assert result.exit_code == 0, result.output
    assert len(balances_of(app)) == 3
    with app.app_context():
        assert db.session.scalars(select(JournalEntry.source)).first().startswith("import stdin sha256:")


def test_a_missing_file_is_a_clear_error(app, runner, tmp_path):
    result = runner.invoke(args=["balances", "import", str(tmp_path / "nowhere.csv")])
    assert result.exit_code == 1 and "cannot read" in result.output


def test_the_same_file_applied_twice_changes_nothing_the_second_time(app, runner, accounts, tmp_path):
    path = write(tmp_path, "good.csv", GOOD)
    assert runner.invoke(args=["balances", "import", path]).exit_code == 0
    # An operator corrects one balance by hand; re-running yesterday's file must not undo it.
    assert runner.invoke(args=["balances", "set", "alice@example.com", "btc", "--available", "1"]).exit_code == 0
    entries, balances = journal_count(app), balances_of(app)
    again = runner.invoke(args=["balances", "import", path])
    assert again.exit_code == 0
    assert "already applied" in again.output and "nothing changed" in again.output
    assert journal_count(app) == entries and balances_of(app) == balances
    # The same figures in a different file are a different import, applied line by line.
    other = runner.invoke(args=["balances", "import", write(tmp_path, "other.csv", GOOD + "\n")])
    assert "1 balance(s) changed, 2 already so" in other.output
    assert balances_of(app)[("alice@example.com", "btc")] == (Decimal("0.12345678"), Decimal("0.05"))


def test_a_file_is_applied_in_one_transaction(app, runner, accounts, tmp_path):
    """The ledger refuses the last line (a change dated before that balance's latest entry)
    only while applying; the lines before it must not stay applied."""
    assert runner.invoke(args=["balances", "set", "bob@example.com", "xem", "--available", "5"]).exit_code == 0
    text = HEADER + "alice@example.com,btc,1,0\nalice@example.com,eth,2,0\nbob@example.com,xem,7,0\n"
    result = runner.invoke(args=["balances", "import", write(tmp_path, "late.csv", text), "--as-of", "2018-01-26T23:59:59+09:00"])
    assert result.exit_code == 1
    assert "line 4:" in result.output and "would come before its latest journal entry" in result.output
    assert balances_of(app) == {("bob@example.com", "xem"): (Decimal(5), Decimal(0))}
    assert journal_count(app) == 1


def test_export_writes_the_import_format_exactly(app, runner, accounts, tmp_path):
    text = HEADER + ("alice@example.com,btc,0.00000001,0\n"
                     "alice@example.com,jpy,100000000000000000000,0\n"
                     "bob@example.com,xem,1000000.5,250\n")
    assert runner.invoke(args=["balances", "import", write(tmp_path, "in.csv", text)]).exit_code == 0
    expected = HEADER + ("alice@example.com,jpy,100000000000000000000,0\n"
                         "alice@example.com,btc,0.00000001,0\n"
                         "bob@example.com,xem,1000000.5,250\n")
    stdout = runner.invoke(args=["balances", "export"])
    assert stdout.exit_code == 0 and stdout.output == expected
    target = tmp_path / "out.csv"
    to_file = runner.invoke(args=["balances", "export", str(target)])
    assert to_file.exit_code == 0 and "3 balance(s) written" in to_file.output
    assert target.read_text() == expected
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []
    # Re-importing the export is the same state: nothing changes.
    again = runner.invoke(args=["balances", "import", str(target)])
    assert "0 balance(s) changed, 3 already so" in again.output


def test_export_to_an_unwritable_place_fails_clearly(app, runner, tmp_path):
    result = runner.invoke(args=["balances", "export", str(tmp_path / "missing-dir" / "out.csv")])
    assert result.exit_code == 1 and "cannot write" in result.output
