"""Unit tests for dashboard.core.valuation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.valuation import (
    JPY,
    Holding,
    Rate,
    Valuation,
    ValuedHolding,
    value_holdings,
)

D = Decimal
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=1)
OLD = NOW - timedelta(hours=2)


def h(currency: str, available: str, in_use: str = "0", decimals: int = 8) -> Holding:
    return Holding(currency, decimals, D(available), D(in_use))


def r(jpy: str, as_of: datetime | None = FRESH) -> Rate:
    return Rate(D(jpy), as_of)


# --- table cases -----------------------------------------------------------


def test_jpy_only_is_rate_one_without_rate_row():
    v = value_holdings([h(JPY, "1500", "250.5", decimals=0)], {})
    (row,) = v.holdings
    assert row.rate_jpy == 1
    assert row.rate_as_of is None
    assert row.available_jpy == D("1500")
    assert row.in_use_jpy == D("250.5")
    assert row.stale is False and row.missing_rate is False
    assert v.net_assets_jpy == D("1750.5")
    assert v.complete and v.missing_rates == ()
    assert v.rates_as_of is None and v.stale is False


def test_jpy_rate_row_is_ignored():
    v = value_holdings([h(JPY, "10")], {JPY: r("2", OLD)}, now=NOW, max_age=timedelta(minutes=5))
    assert v.holdings[0].rate_jpy == 1
    assert v.net_assets_jpy == D("10")
    assert v.rates_as_of is None and v.stale is False


def test_reference_xem_figure():
    v = value_holdings([h("xem", "100", decimals=6)], {"xem": r("88.549")})
    row = v.holdings[0]
    assert row.available_jpy == D("8854.9")
    assert row.in_use_jpy == 0
    assert v.net_assets_jpy == D("8854.9")
    assert row.rate_as_of == FRESH
    assert v.rates_as_of == FRESH


def test_large_xem_holding_exact():
    v = value_holdings([h("xem", "523000010", "0.5", decimals=6)], {"xem": r("88.549")})
    row = v.holdings[0]
    assert row.available_jpy == D("46311127885.490")
    assert row.in_use_jpy == D("44.2745")
    assert v.net_assets_jpy == D("46311127929.7645")


def test_huge_values_are_exact():
    v = value_holdings(
        [h("xem", "123456789012345678.123456789012345678")], {"xem": r("88.549")}
    )
    assert str(v.holdings[0].available_jpy) == "10931975210254197452.153975210254197441222"
    assert str(v.net_assets_jpy) == "10931975210254197452.153975210254197441222"


def test_forty_digit_operands_are_exact():
    a = D("1234567890123456789012345678901234567890")
    b = D("9876543210.987654321098765432109876543210")
    v = value_holdings([h("btc", str(a))], {"btc": Rate(b, FRESH)})
    got = v.holdings[0].available_jpy
    assert Fraction(got) == Fraction(a) * Fraction(b)


def test_missing_rate():
    v = value_holdings(
        [h(JPY, "1000"), h("btc", "0", "0.1"), h("eth", "1"), h("xrp", "5")],
        {"xrp": r("80")},
    )
    btc, eth = v.holdings[1], v.holdings[2]
    assert btc.missing_rate and eth.missing_rate
    assert btc.available_jpy is None and btc.in_use_jpy is None and btc.rate_jpy is None
    assert v.missing_rates == ("btc", "eth")
    assert v.complete is False
    assert v.net_assets_jpy == D("1400")
    assert [row.currency for row in v.holdings] == [JPY, "btc", "eth", "xrp"]


def test_zero_balance_without_rate_is_not_missing():
    v = value_holdings([h(JPY, "1"), h("bch", "0", "0")], {})
    row = v.holdings[1]
    assert row.missing_rate is False
    assert row.available_jpy is None and row.in_use_jpy is None
    assert v.complete is True and v.missing_rates == ()
    assert v.net_assets_jpy == D("1")


def test_stale_rate():
    v = value_holdings(
        [h("btc", "1"), h("eth", "2"), h(JPY, "3")],
        {"btc": r("10000000", OLD), "eth": r("500000", FRESH)},
        now=NOW,
        max_age=timedelta(minutes=10),
    )
    btc, eth, jpy = v.holdings
    assert btc.stale and not eth.stale and not jpy.stale
    assert v.stale is True
    assert v.rates_as_of == OLD
    # Staleness is reported, not hidden: stale rates still count.
    assert v.net_assets_jpy == D("11000003")


def test_staleness_boundary_and_default_off():
    rates = {"btc": r("1", NOW - timedelta(minutes=10))}
    at_limit = value_holdings([h("btc", "1")], rates, now=NOW, max_age=timedelta(minutes=10))
    assert at_limit.stale is False
    past = value_holdings([h("btc", "1")], rates, now=NOW, max_age=timedelta(minutes=9))
    assert past.stale is True
    # Without max_age no staleness is judged.
    assert value_holdings([h("btc", "1")], {"btc": r("1", OLD)}, now=NOW).stale is False


def test_rate_without_as_of_is_stale_when_checking():
    v = value_holdings([h("btc", "1")], {"btc": r("1", None)}, now=NOW, max_age=timedelta(days=1))
    assert v.holdings[0].stale is True
    assert v.rates_as_of is None


def test_max_age_without_now_uses_current_time():
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    v = value_holdings([h("btc", "1")], {"btc": r("1", long_ago)}, max_age=timedelta(days=1))
    assert v.stale is True


def test_net_assets_equals_sum_of_rows():
    v = value_holdings(
        [h(JPY, "123.45"), h("btc", "0.12345678", "0.00000001"), h("xem", "523000010", "7")],
        {"btc": r("9876543.21"), "xem": r("88.549")},
    )
    assert v.net_assets_jpy == sum(row.available_jpy + row.in_use_jpy for row in v.holdings)
    assert all(row.total_jpy == row.available_jpy + row.in_use_jpy for row in v.holdings)


def test_empty_wallet():
    v = value_holdings([], {})
    assert v == Valuation((), D(0), (), True, None, False)


def test_negative_zero_is_normalised():
    v = value_holdings([h(JPY, "-0")], {})
    assert str(v.holdings[0].available) == "0"
    assert not v.holdings[0].available_jpy.is_signed()


def test_results_are_frozen():
    v = value_holdings([h(JPY, "1")], {})
    with pytest.raises(AttributeError):
        v.net_assets_jpy = D(2)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        v.holdings[0].stale = True  # type: ignore[misc]
    assert isinstance(v.holdings[0], ValuedHolding)


# --- validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Holding("btc", 8, D("-1"), D("0")),
        lambda: Holding("btc", 8, D("0"), D("-0.00000001")),
        lambda: Holding("btc", 8, D("NaN"), D("0")),
        lambda: Holding("btc", 8, D("Infinity"), D("0")),
        lambda: Holding("btc", -1, D("0"), D("0")),
        lambda: Holding("BTC", 8, D("0"), D("0")),
        lambda: Holding("", 8, D("0"), D("0")),
        lambda: Rate(D("0"), FRESH),
        lambda: Rate(D("-88.549"), FRESH),
        lambda: Rate(D("NaN"), FRESH),
        lambda: Rate(D("sNaN"), FRESH),
        lambda: Rate(D("-Infinity"), FRESH),
        lambda: Rate(D("1"), datetime(2024, 1, 1)),
    ],
)
def test_invalid_values_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Holding("btc", 8, 1.5, D("0")),  # type: ignore[arg-type]
        lambda: Holding("btc", 8, D("0"), 0.0),  # type: ignore[arg-type]
        lambda: Holding("btc", 8, "1", D("0")),  # type: ignore[arg-type]
        lambda: Holding("btc", 8, True, D("0")),  # type: ignore[arg-type]
        lambda: Holding("btc", 8.0, D("0"), D("0")),  # type: ignore[arg-type]
        lambda: Rate(88.549, FRESH),  # type: ignore[arg-type]
        lambda: value_holdings([h("btc", "1")], {"btc": 88.549}),  # type: ignore[dict-item]
        lambda: value_holdings([("btc", 8, D(1), D(0))], {}),  # type: ignore[list-item]
        lambda: value_holdings([], {}, now=NOW, max_age=60.0),  # type: ignore[arg-type]
    ],
)
def test_floats_and_wrong_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_float_error_message_is_clear():
    with pytest.raises(TypeError, match="float"):
        Rate(88.549, FRESH)  # type: ignore[arg-type]


def test_ints_are_accepted_as_exact():
    holding = Holding("jpy", 0, 5, 0)  # type: ignore[arg-type]
    assert isinstance(holding.available, Decimal)
    assert value_holdings([holding], {}).net_assets_jpy == D(5)


def test_negative_amount_message_names_currency():
    with pytest.raises(ValueError, match="btc.*available"):
        Holding("btc", 8, D("-1"), D("0"))


def test_duplicate_currency_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        value_holdings([h("btc", "1"), h("btc", "2")], {"btc": r("1")})


def test_naive_now_or_negative_max_age_rejected():
    with pytest.raises(ValueError):
        value_holdings([], {}, now=datetime(2024, 1, 1), max_age=timedelta(minutes=1))
    with pytest.raises(ValueError):
        value_holdings([], {}, now=NOW, max_age=timedelta(minutes=-1))


# --- properties ------------------------------------------------------------


def _decimals(max_digits: int = 40, max_places: int = 20) -> st.SearchStrategy[Decimal]:
    # Build from (integer coefficient, scale) so huge and tiny exact values are both covered.
    return st.builds(
        lambda coeff, places: Decimal(coeff).scaleb(-places),
        st.integers(min_value=0, max_value=10**max_digits - 1),
        st.integers(min_value=0, max_value=max_places),
    )


_amounts = _decimals()
_rates = _decimals().filter(lambda d: d > 0)
_codes = st.sampled_from(["jpy", "btc", "eth", "xem", "xrp", "bch", "mona", "ltc"])


@st.composite
def _wallets(draw):
    codes = draw(st.lists(_codes, unique=True, max_size=8))
    holdings = [Holding(c, 8, draw(_amounts), draw(_amounts)) for c in codes]
    rated = draw(st.lists(_codes, unique=True))
    rates = {c: Rate(draw(_rates), FRESH) for c in rated}
    return holdings, rates


@settings(max_examples=150, deadline=None)
@given(_wallets())
def test_net_assets_matches_fraction_sum(wallet):
    holdings, rates = wallet
    v = value_holdings(holdings, rates)
    expected = Fraction(0)
    missing = []
    for holding in holdings:
        if holding.currency == JPY:
            rate = Fraction(1)
        elif holding.currency in rates:
            rate = Fraction(rates[holding.currency].jpy)
        else:
            if holding.available or holding.in_use:
                missing.append(holding.currency)
            continue
        expected += (Fraction(holding.available) + Fraction(holding.in_use)) * rate
    assert Fraction(v.net_assets_jpy) == expected
    assert v.missing_rates == tuple(missing)
    assert v.complete is (not missing)
    assert [row.currency for row in v.holdings] == [x.currency for x in holdings]


@settings(max_examples=200, deadline=None)
@given(_amounts, _amounts, _rates)
def test_row_values_are_exact(available, in_use, rate):
    v = value_holdings([Holding("btc", 8, available, in_use)], {"btc": Rate(rate, FRESH)})
    row = v.holdings[0]
    assert Fraction(row.available_jpy) == Fraction(available) * Fraction(rate)
    assert Fraction(row.in_use_jpy) == Fraction(in_use) * Fraction(rate)
    assert Fraction(v.net_assets_jpy) == (Fraction(available) + Fraction(in_use)) * Fraction(rate)
