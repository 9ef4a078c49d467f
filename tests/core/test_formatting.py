"""Tests for dashboard.core.formatting: example tables plus properties against an integer-arithmetic reference."""

from decimal import Decimal

import pytest
from babel import Locale
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.formatting import amount, cut_decimal_zero, normalize, number, plain

HUGE = Decimal("123456789012345678901234.123456789012345678")

# --- an independent reference: scaled integers, no Decimal arithmetic ---------


def _exact(d):
    """(numerator, power) with d == numerator * 10**power, read off the digits."""
    sign, digits, exponent = d.as_tuple()
    coefficient = int("".join(str(x) for x in digits) or "0")
    return (-coefficient if sign else coefficient), exponent


def ref_number(d, n, group=",", point="."):
    numerator, power = _exact(d)
    negative = numerator < 0
    numerator = abs(numerator)
    shift = power + n
    if shift >= 0:
        scaled = numerator * 10**shift
    else:
        divisor = 10**-shift
        scaled, remainder = divmod(numerator, divisor)
        if 2 * remainder >= divisor:  # half away from zero
            scaled += 1
    text = str(scaled).rjust(n + 1, "0")
    integer, fraction = (text[:-n], text[-n:]) if n else (text, "")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    out = group.join(groups)
    if fraction:
        out += point + fraction
    if negative and scaled:
        out = "-" + out
    return out


def ref_default_places(d):
    return min(max(-d.as_tuple().exponent, 0), 3)


# --- number: example table -------------------------------------------------------

NUMBER_CASES = [
    # not a finite number
    (None, None, "en", ""),
    ("", None, "en", ""),
    ("   ", None, "en", ""),
    ("abc", 2, "en", ""),
    ("1.2.3", None, "en", ""),
    ("1_000", None, "en", ""),
    ("NaN", None, "en", ""),
    ("nan", 2, "en", ""),
    ("Infinity", None, "en", ""),
    ("-Infinity", 2, "en", ""),
    ("inf", None, "en", ""),
    (Decimal("NaN"), None, "en", ""),
    (Decimal("sNaN"), 2, "en", ""),
    (Decimal("Infinity"), None, "en", ""),
    (Decimal("-Infinity"), 0, "en", ""),
    (float("nan"), None, "en", ""),
    (float("inf"), 2, "en", ""),
    (True, None, "en", ""),
    (False, 2, "en", ""),
    ([], None, "en", ""),
    (object(), None, "en", ""),
    ("1e999999999", None, "en", ""),
    ("1e99999999999999999999", None, "en", ""),
    ("１２", None, "en", ""),
    # own fraction digits, capped at 3
    (Decimal("1.5"), None, "en", "1.5"),
    (Decimal("1.50"), None, "en", "1.50"),
    (Decimal("1234.56789"), None, "en", "1,234.568"),
    (Decimal("-1234.56789"), None, "en", "-1,234.568"),
    (Decimal("1E+3"), None, "en", "1,000"),
    (Decimal("1.5E-10"), None, "en", "0.000"),
    (Decimal("-1.5E-10"), None, "en", "0.000"),
    (Decimal("0"), None, "en", "0"),
    (Decimal("-0"), None, "en", "0"),
    (Decimal("-0.00"), None, "en", "0.00"),
    (1234567, None, "en", "1,234,567"),
    (-1234567, None, "en", "-1,234,567"),
    (0, None, "en", "0"),
    (999, None, "en", "999"),
    (1000, None, "en", "1,000"),
    (100000, None, "en", "100,000"),
    # str input
    ("1234.5", None, "en", "1,234.5"),
    (" 1234.5 ", None, "en", "1,234.5"),
    ("-0.5", None, "en", "-0.5"),
    ("+7", None, "en", "7"),
    (".5", None, "en", "0.5"),
    ("5.", None, "en", "5"),
    ("1e3", None, "en", "1,000"),
    ("1.23456E+2", None, "en", "123.456"),
    ("1234.56789", 2, "en", "1,234.57"),
    # float goes through str()
    (0.1, None, "en", "0.1"),
    (1234.5, 2, "en", "1,234.50"),
    # explicit fraction_size, half away from zero
    (Decimal("0.05"), 1, "en", "0.1"),
    (Decimal("-0.05"), 1, "en", "-0.1"),
    (Decimal("-1234.56789"), 4, "en", "-1,234.5679"),
    (Decimal("2.5"), 0, "en", "3"),
    (Decimal("-2.5"), 0, "en", "-3"),
    (Decimal("0.5"), 0, "en", "1"),
    (Decimal("0.49999999999999999999999999999999"), 0, "en", "0"),
    (Decimal("1.005"), 2, "en", "1.01"),
    (Decimal("999.9995"), 3, "en", "1,000.000"),
    (Decimal("999999.5"), 0, "en", "1,000,000"),
    (Decimal("-0.04"), 1, "en", "0.0"),
    (Decimal("-0.4"), 0, "en", "0"),
    (Decimal("1.5"), 3, "en", "1.500"),
    (Decimal("1E+3"), 2, "en", "1,000.00"),
    (7, 2, "en", "7.00"),
    (Decimal("0.000000000000000001"), 18, "en", "0.000000000000000001"),
    (Decimal("0.0000000000000000005"), 18, "en", "0.000000000000000001"),
    (Decimal("0.0000000000000000004"), 18, "en", "0.000000000000000000"),
    (Decimal("1E-999999"), 2, "en", "0.00"),
    # huge values, beyond the default 28-digit context
    (HUGE, None, "en", "123,456,789,012,345,678,901,234.123"),
    (HUGE, 18, "en", "123,456,789,012,345,678,901,234.123456789012345678"),
    (HUGE, 0, "en", "123,456,789,012,345,678,901,234"),
    (HUGE.copy_negate(), 17, "en", "-123,456,789,012,345,678,901,234.12345678901234568"),
    (Decimal("9" * 60 + ".5"), 0, "en", "1" + ",000" * 20),
    (10**30, 2, "en", "1" + ",000" * 10 + ".00"),
    # locales
    (Decimal("1234567.891"), 2, "ja", "1,234,567.89"),
    (Decimal("1234567.891"), 2, "en", "1,234,567.89"),
    (Decimal("1234567.891"), 2, "en_GB", "1,234,567.89"),
    (Decimal("1234567.891"), 2, Locale("ja"), "1,234,567.89"),
    (Decimal("1234567.891"), 2, Locale.parse("en_GB"), "1,234,567.89"),
    (Decimal("1234567.891"), 2, "de", "1.234.567,89"),
    (Decimal("-0.5"), None, "ja", "-0.5"),
]


@pytest.mark.parametrize(("value", "fraction_size", "locale", "expected"), NUMBER_CASES)
def test_number_examples(value, fraction_size, locale, expected):
    assert number(value, fraction_size, locale) == expected


@pytest.mark.parametrize("fraction_size", range(19))
@pytest.mark.parametrize("locale", ["en", "ja"])
def test_number_fraction_sizes(fraction_size, locale):
    value = Decimal("-9876543.21098765432109876549")
    assert number(value, fraction_size, locale) == ref_number(value, fraction_size)
    assert number(value, fraction_size, locale).count(".") == (1 if fraction_size else 0)


def test_number_defaults_to_en():
    assert number(Decimal("1234.5")) == "1,234.5"


@pytest.mark.parametrize("fraction_size", [-1, 1.5, "2", True, Decimal(2)])
def test_number_rejects_bad_fraction_size(fraction_size):
    with pytest.raises(ValueError):
        number(Decimal("1"), fraction_size)


def test_number_does_not_leak_context():
    import decimal

    before = decimal.getcontext().copy()
    number(HUGE, 18)
    after = decimal.getcontext()
    assert (after.prec, after.rounding, after.Emax) == (before.prec, before.rounding, before.Emax)


def test_module_imports_no_web_or_database_library():
    import pathlib
    import subprocess
    import sys

    # dashboard/__init__ may import Flask; load the module file on its own.
    path = pathlib.Path(__file__).resolve().parents[2] / "dashboard" / "core" / "formatting.py"
    code = (
        "import importlib.util, sys;"
        f"spec = importlib.util.spec_from_file_location('formatting', {str(path)!r});"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "bad = [n for n in sys.modules if n.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'sqlite3', 'psycopg2', 'psycopg', 'pymysql', 'werkzeug'}];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- number: properties ------------------------------------------------------------

WIDE = st.decimals(
    min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False
)


def _scientific(coefficient, exponent):
    return Decimal(f"{coefficient}E{exponent}")


ANY_EXPONENT = st.builds(
    _scientific, st.integers(-(10**45), 10**45), st.integers(-40, 40)
)
PLACED = st.integers(0, 12).flatmap(
    lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p)
)
DECIMALS = st.one_of(WIDE, ANY_EXPONENT, PLACED)


@settings(max_examples=300, deadline=None)
@given(DECIMALS, st.integers(0, 20), st.sampled_from(["en", "ja"]))
def test_number_matches_reference(value, fraction_size, locale):
    assert number(value, fraction_size, locale) == ref_number(value, fraction_size)


@settings(max_examples=200, deadline=None)
@given(DECIMALS)
def test_number_default_places_match_reference(value):
    assert number(value) == ref_number(value, ref_default_places(value))


@settings(max_examples=200, deadline=None)
@given(DECIMALS, st.integers(0, 20))
def test_number_accepts_str_and_int_like_decimal(value, fraction_size):
    assert number(str(value), fraction_size) == number(value, fraction_size)
    if value == value.to_integral_value():
        assert number(int(value), fraction_size) == number(value, fraction_size)


@settings(max_examples=200, deadline=None)
@given(DECIMALS, st.integers(0, 20))
def test_number_in_german_is_english_with_symbols_swapped(value, fraction_size):
    english = number(value, fraction_size, "en")
    swapped = english.translate(str.maketrans({",": ".", ".": ","}))
    assert number(value, fraction_size, "de") == swapped


# --- amount ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "locale", "expected"),
    [
        (Decimal("0.12345678"), 8, "en", "0.12345678"),
        (Decimal("1234567"), 0, "en", "1,234,567"),
        (Decimal("1234567"), 2, "ja", "1,234,567.00"),
        (Decimal("0.123456785"), 8, "en", "0.12345679"),
        (Decimal("-0.123456785"), 8, "en", "-0.12345679"),
        (Decimal("1.5"), 18, "en", "1.500000000000000000"),
        (HUGE, 18, "ja", "123,456,789,012,345,678,901,234.123456789012345678"),
        (Decimal("0.4"), 0, "en", "0"),
        (None, 8, "en", ""),
    ],
)
def test_amount(value, decimals, locale, expected):
    assert amount(value, decimals, locale) == expected


@settings(max_examples=200, deadline=None)
@given(DECIMALS, st.integers(0, 18))
def test_amount_is_number_at_decimals(value, decimals):
    assert amount(value, decimals) == number(value, decimals) == ref_number(value, decimals)


# --- cut_decimal_zero ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("1,234.50", "en", "1,234.5"),
        ("1,234.0", "en", "1,234"),
        ("1,000", "en", "1,000"),
        ("100", "en", "100"),
        ("", "en", ""),
        (None, "en", ""),
        ("0.000", "en", "0"),
        ("0.001", "en", "0.001"),
        ("-1,200.500", "en", "-1,200.5"),
        ("10.10", "ja", "10.1"),
        ("1.234,50", "de", "1.234,5"),
        ("1.000", "de", "1.000"),
        ("1.234,00", "de", "1.234"),
        ("1.5", Locale("ja"), "1.5"),
    ],
)
def test_cut_decimal_zero(text, locale, expected):
    assert cut_decimal_zero(text, locale=locale) == expected


def test_cut_decimal_zero_defaults_to_point():
    assert cut_decimal_zero("1,000.100") == "1,000.1"


def _value_of(text):
    return Decimal(text.replace(",", ""))


@settings(max_examples=300, deadline=None)
@given(DECIMALS, st.integers(0, 20))
def test_cut_decimal_zero_properties(value, fraction_size):
    text = number(value, fraction_size)
    cut = cut_decimal_zero(text)
    assert _value_of(cut) == _value_of(text)
    integer, point, fraction = cut.partition(".")
    assert integer == text.partition(".")[0]
    if point:
        assert fraction and not fraction.endswith("0")
    assert cut_decimal_zero(cut) == cut


# --- plain / normalize ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("1.500"), "1.5"),
        (Decimal("-0"), "0"),
        (Decimal("-0.000"), "0"),
        (Decimal("0E+5"), "0"),
        (Decimal("1.000"), "1"),
        (Decimal("100"), "100"),
        (Decimal("1.5E-10"), "0.00000000015"),
        (Decimal("-12.3400"), "-12.34"),
        (Decimal("1.0000E+45"), "1" + "0" * 45),
        (HUGE, "123456789012345678901234.123456789012345678"),
        (
            Decimal("12345678901234567890123456789012345678901234567890.1200"),
            "12345678901234567890123456789012345678901234567890.12",
        ),
        (42, "42"),
        ("1.50", "1.5"),
    ],
)
def test_plain(value, expected):
    assert plain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+3"), (0, (1, 0, 0, 0), 0)),
        (Decimal("1.500"), (0, (1, 5), -1)),
        (Decimal("-0.00"), (0, (0,), 0)),
        (Decimal("-1.2E+2"), (1, (1, 2, 0), 0)),
    ],
)
def test_normalize(value, expected):
    assert normalize(value).as_tuple() == expected


@pytest.mark.parametrize(
    "value", [None, "", "abc", Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), True, "1e999999999"]
)
def test_plain_and_normalize_reject_non_numbers(value):
    with pytest.raises(ValueError):
        plain(value)
    with pytest.raises(ValueError):
        normalize(value)


def test_plain_rejects_absurdly_small():
    with pytest.raises(ValueError):
        plain(Decimal("1E-999999"))


@settings(max_examples=300, deadline=None)
@given(DECIMALS)
def test_plain_properties(value):
    text = plain(value)
    assert "E" not in text and "e" not in text
    assert Decimal(text) == value
    if "." in text:
        assert not text.endswith("0")
    assert not text.startswith("-0") or text.startswith("-0.")
    assert text != "-0"
    n = normalize(value)
    assert n == value and n.as_tuple().exponent <= 0
    assert str(n) == text or "E" in str(n)
    assert plain(n) == text


@settings(max_examples=500)
@given(st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent: Decimal(f"{digits}E{exponent}"), st.integers(-10**30, 10**30), st.integers(-1100, 1100)))
def test_plain_of_a_decimal_is_its_normalised_text(value):
    """plain's quick way with a Decimal gives what normalize() gives, or refuses what it refuses."""
    try:
        expected = format(normalize(value), "f")
    except ValueError:
        with pytest.raises(ValueError):
            plain(value)
        return
    assert plain(value) == expected
