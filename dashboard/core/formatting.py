"""Exact, locale-aware number formatting (a port of AngularJS's ``number`` filter) on Decimal."""

import decimal
import functools
import re
from decimal import Decimal

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol

__all__ = ["number", "cut_decimal_zero", "plain", "normalize", "amount"]

# Angular's default pattern: at most 3 fraction digits when none are asked for.
_DEFAULT_MAX_FRACTION = 3

# No real amount comes near this; the cap keeps a hostile string such as
# "1e999999999" from being expanded into a gigabyte of digits.
_MAX_DIGITS = 1000

# Python's Decimal() also accepts "1_000", "nan", " inf" and non-ASCII digits;
# only plain ASCII numerals are numbers here, as in a JSON or form value.
_NUMERAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _to_decimal(value):
    """The finite Decimal that value denotes, or None."""
    # bool is an int subclass, but True is not a quantity.
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest repr, so 0.1 stays 0.1, not 0.1000000000000000055...
        value = str(value)
        result = None
    elif isinstance(value, str):
        result = None
    else:
        return None
    if result is None:
        value = value.strip()
        if not _NUMERAL.fullmatch(value):
            return None
        try:
            result = Decimal(value)
        except (decimal.InvalidOperation, ValueError, OverflowError):
            return None
    if not result.is_finite():
        return None
    if not result.is_zero() and result.adjusted() >= _MAX_DIGITS:
        return None
    return result


_HALF_UP = decimal.Context(prec=decimal.MAX_PREC, rounding=decimal.ROUND_HALF_UP,
                           Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


@functools.lru_cache(maxsize=64)
def _exponent(fraction_size):
    return Decimal(1).scaleb(-fraction_size)


@functools.lru_cache(maxsize=64)
def _symbols(locale_key):
    return get_group_symbol(locale_key), get_decimal_symbol(locale_key)


def _locale_symbols(locale):
    # Cache on the name: str(Locale) is its identifier, e.g. "en_GB".
    if isinstance(locale, Locale):
        locale = str(locale)
    return _symbols(locale)


def number(value, fraction_size=None, locale="en"):
    """Format value like Angular's ``number`` filter, exactly; '' when value is not a finite number.

    fraction_size must be None or an int >= 0 (ValueError otherwise): unlike
    Angular, a bad size is a template bug and should not render silently.
    """
    if fraction_size is not None and (
        isinstance(fraction_size, bool)
        or not isinstance(fraction_size, int)
        or fraction_size < 0
    ):
        raise ValueError(f"fraction_size must be a non-negative int, not {fraction_size!r}")
    d = _to_decimal(value)
    if d is None:
        return ""
    if fraction_size is None:
        fraction_size = min(max(-d.as_tuple().exponent, 0), _DEFAULT_MAX_FRACTION)

    # The default 28-digit context would make quantize raise on big values; one shared
    # context with the largest precision rounds half away from zero and never overflows.
    rounded = _HALF_UP.quantize(d, _exponent(fraction_size))
    if rounded.is_zero():
        rounded = rounded.copy_abs()

    # Grouped by threes in C (the "," option), then given the locale's symbols where they are
    # not "," and ".": a wallet document formats some eighty numbers.
    text = format(rounded, ",f")
    group_symbol, decimal_symbol = _locale_symbols(locale)
    if group_symbol != "," or decimal_symbol != ".":
        text = text.translate(_symbol_table(group_symbol, decimal_symbol))
    return text


@functools.lru_cache(maxsize=64)
def _symbol_table(group_symbol, decimal_symbol):
    return str.maketrans({",": group_symbol, ".": decimal_symbol})


def cut_decimal_zero(text, *, locale="en"):
    """Drop trailing zeros of the fraction in formatted text, and the decimal symbol if nothing is left."""
    if text is None:
        return ""
    text = str(text)
    decimal_symbol = _locale_symbols(locale)[1]
    integer, symbol, fraction = text.rpartition(decimal_symbol)
    if not symbol:
        return text
    fraction = fraction.rstrip("0")
    return integer + symbol + fraction if fraction else integer


def normalize(value):
    """value with trailing fraction zeros dropped and no positive exponent; exact at any precision.

    Raises ValueError when value is not a finite number.
    """
    d = _to_decimal(value)
    if d is None:
        raise ValueError(f"not a finite number: {value!r}")
    if d.is_zero():
        return Decimal(0)
    # Decimal.normalize() rounds to the context precision; do it on the digits instead.
    sign, digits, exponent = d.as_tuple()
    # Counted in one pass: a long user-supplied coefficient must not go quadratic.
    trailing = len(digits) - len(bytes(digits).rstrip(b"\0"))
    digits = digits[:len(digits) - trailing]
    exponent += trailing
    if exponent > 0:
        digits += (0,) * exponent
        exponent = 0
    result = Decimal((sign, digits, exponent))
    if result.adjusted() < -_MAX_DIGITS:
        raise ValueError(f"too small to write out: {value!r}")
    return result


def plain(value):
    """The exact value in plain notation without exponent or trailing fraction zeros, for JSON and CSV."""
    if type(value) is Decimal and value.is_finite() and not value.is_zero() and -_MAX_DIGITS <= value.adjusted() < _MAX_DIGITS:
        # The common case, a Decimal the app computed: its text cut of its fraction's zeros is
        # what normalize() gives, without taking its digits apart (a wallet writes hundreds).
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").removesuffix(".")
        return text
    return format(normalize(value), "f")


def amount(value, decimals, locale="en"):
    """A native amount at its currency's decimal places, rounded half-up when it has more."""
    return number(value, decimals, locale)
