"""Exact JPY valuation of a wallet's per-currency balances."""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

__all__ = [
    "JPY",
    "Holding",
    "Rate",
    "ValuedHolding",
    "Valuation",
    "value_holdings",
    "share_percent",
]

JPY = "jpy"

_ONE = Decimal(1)
_ZERO = Decimal(0)


def _as_decimal(value: object, what: str) -> Decimal:
    """Return value as a finite Decimal, refusing floats and other lossy types."""
    # bool is an int subclass; True as an amount is always a bug.
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a Decimal, got bool")
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, got float {value!r} (money is never float)")
    if isinstance(value, int):
        # Ints are exact, so accepting them costs nothing and saves callers noise.
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{what} must be finite, got {value}")
    if value.is_zero():
        # Normalise -0 so it never leaks into displayed figures as "-0".
        value = value.copy_abs()
    return value


def _check_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")


# One context for every operation, with the largest precision there is: a product or sum of
# finite decimals is then always exact. The Inexact trap is a safety net that turns any
# rounding into a loud error instead of a silently wrong balance. (A context built per call
# cost a sixth of a request's instructions in the benchmark.)
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow,
           decimal.Underflow, decimal.DivisionByZero],
)


def _exact_mul(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.multiply(a, b)


def _exact_add(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.add(a, b)


@dataclass(frozen=True, slots=True)
class Holding:
    """One currency's balances in a wallet."""

    currency: str  # lower-case code, e.g. 'btc'
    decimals: int
    available: Decimal
    in_use: Decimal  # held by open orders or pending withdrawals

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str):
            raise TypeError(f"currency must be a str, got {type(self.currency).__name__}")
        # Rates are keyed by lower-case code; a mixed-case code would silently
        # look like a missing rate.
        if not self.currency or self.currency != self.currency.lower():
            raise ValueError(f"currency must be a non-empty lower-case code, got {self.currency!r}")
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int):
            raise TypeError(f"{self.currency}: decimals must be an int, got {type(self.decimals).__name__}")
        if self.decimals < 0:
            raise ValueError(f"{self.currency}: decimals must be >= 0, got {self.decimals}")
        for name in ("available", "in_use"):
            value = _as_decimal(getattr(self, name), f"{self.currency}: {name}")
            if value < 0:
                raise ValueError(f"{self.currency}: {name} must be >= 0, got {value}")
            # Frozen dataclass: normalised value must bypass the frozen __setattr__.
            object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True)
class Rate:
    """Price of one unit of a currency in JPY, as of a point in time."""

    jpy: Decimal
    as_of: datetime | None

    def __post_init__(self) -> None:
        value = _as_decimal(self.jpy, "rate jpy")
        if value <= 0:
            raise ValueError(f"rate jpy must be > 0, got {value}")
        object.__setattr__(self, "jpy", value)
        if self.as_of is not None:
            _check_aware(self.as_of, "rate as_of")


@dataclass(frozen=True, slots=True)
class ValuedHolding:
    """A holding together with its JPY value (None where no rate is known)."""

    currency: str
    decimals: int
    available: Decimal
    in_use: Decimal
    rate_jpy: Decimal | None
    rate_as_of: datetime | None
    available_jpy: Decimal | None
    in_use_jpy: Decimal | None
    stale: bool

    @property
    def has_balance(self) -> bool:
        return not (self.available.is_zero() and self.in_use.is_zero())

    @property
    def missing_rate(self) -> bool:
        """True for a non-zero holding that cannot be valued."""
        return self.rate_jpy is None and self.has_balance

    @property
    def total(self) -> Decimal:
        return _exact_add(self.available, self.in_use)

    @property
    def total_jpy(self) -> Decimal | None:
        if self.available_jpy is None or self.in_use_jpy is None:
            return None
        return _exact_add(self.available_jpy, self.in_use_jpy)


@dataclass(frozen=True, slots=True)
class Valuation:
    """A wallet's valued holdings and their exact JPY total."""

    holdings: tuple[ValuedHolding, ...]  # in input order
    net_assets_jpy: Decimal
    missing_rates: tuple[str, ...]
    complete: bool
    rates_as_of: datetime | None  # oldest rate used; None if only JPY
    stale: bool


def value_holdings(
    holdings: Iterable[Holding],
    rates: Mapping[str, Rate],
    *,
    now: datetime | None = None,
    max_age: timedelta | None = None,
) -> Valuation:
    """Value each holding in JPY and total them, without any rounding.

    Staleness is only judged when max_age is given; now defaults to the
    current UTC time in that case. A non-JPY rate without as_of counts as
    stale then, since its age cannot be vouched for. Rows for JPY in
    ``rates`` are ignored: JPY is 1 by definition.
    """
    cutoff: datetime | None = None
    if max_age is not None:
        if not isinstance(max_age, timedelta):
            raise TypeError(f"max_age must be a timedelta, got {type(max_age).__name__}")
        if max_age < timedelta(0):
            raise ValueError(f"max_age must not be negative, got {max_age}")
        if now is None:
            now = datetime.now(UTC)
        _check_aware(now, "now")
        cutoff = now - max_age
    elif now is not None:
        _check_aware(now, "now")

    rows: list[ValuedHolding] = []
    seen: set[str] = set()
    missing: list[str] = []
    net = _ZERO
    oldest: datetime | None = None
    any_stale = False

    for holding in holdings:
        if not isinstance(holding, Holding):
            raise TypeError(f"expected Holding, got {type(holding).__name__}")
        code = holding.currency
        # A duplicate would be double-counted in the total.
        if code in seen:
            raise ValueError(f"duplicate holding for currency {code!r}")
        seen.add(code)

        rate_jpy: Decimal | None
        rate_as_of: datetime | None
        stale = False
        if code == JPY:
            rate_jpy, rate_as_of = _ONE, None
        else:
            rate = rates.get(code)
            if rate is None:
                rate_jpy = rate_as_of = None
            else:
                if not isinstance(rate, Rate):
                    raise TypeError(f"{code}: expected Rate, got {type(rate).__name__}")
                rate_jpy, rate_as_of = rate.jpy, rate.as_of
                if cutoff is not None:
                    stale = rate_as_of is None or rate_as_of < cutoff
                if rate_as_of is not None and (oldest is None or rate_as_of < oldest):
                    oldest = rate_as_of

        if rate_jpy is None:
            available_jpy = in_use_jpy = None
        else:
            available_jpy = _exact_mul(holding.available, rate_jpy)
            in_use_jpy = _exact_mul(holding.in_use, rate_jpy)
            net = _exact_add(net, _exact_add(available_jpy, in_use_jpy))

        row = ValuedHolding(
            currency=code,
            decimals=holding.decimals,
            available=holding.available,
            in_use=holding.in_use,
            rate_jpy=rate_jpy,
            rate_as_of=rate_as_of,
            available_jpy=available_jpy,
            in_use_jpy=in_use_jpy,
            stale=stale,
        )
        if row.missing_rate:
            missing.append(code)
        any_stale = any_stale or stale
        rows.append(row)

    return Valuation(
        holdings=tuple(rows),
        net_assets_jpy=net,
        missing_rates=tuple(missing),
        complete=not missing,
        rates_as_of=oldest,
        stale=any_stale,
    )


_TEN = Decimal(10)


def share_percent(part: Decimal | None, whole: Decimal) -> Decimal | None:
    """part as a percentage of whole, rounded half-up to one decimal (29.94... -> 29.9);
    None when part is unknown or whole is zero, where no share can be said.

    Division is the one inexact step in the wallet, so it is done on integers: the quotient
    in tenths of a percent and its remainder are exact, and half-up is decided on them
    rather than on an already rounded quotient (which could round twice).
    """
    if part is None:
        return None
    part = _as_decimal(part, "part")
    whole = _as_decimal(whole, "whole")
    if whole.is_zero():
        return None
    if part < 0 or whole < 0:
        raise ValueError(f"a share needs non-negative figures, got {part} of {whole}")
    return percent_half_up(part, whole, 1)


def percent_half_up(part: Decimal, whole: Decimal, places: int) -> Decimal:
    """part ÷ whole × 100 rounded half away from zero to `places` decimals, exactly (whole not
    zero): the quotient in steps of the last place and its remainder are exact integers, and
    half-up is decided on them. Never -0: a negative share too small to show is 0."""
    # copy_abs and copy_negate, not abs() and -: those round to the thread's 28 digits.
    whole_size = whole.copy_abs()
    steps, remainder = _EXACT.divmod(_exact_mul(part.copy_abs(), _TEN.scaleb(places + 1)), whole_size)
    if _exact_add(remainder, remainder) >= whole_size:
        steps = _exact_add(steps, _ONE)
    result = _EXACT.scaleb(_EXACT.quantize(steps, _ONE), Decimal(-places))
    return result.copy_negate() if steps and part.is_signed() != whole.is_signed() else result
