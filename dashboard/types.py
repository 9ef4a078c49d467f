"""Column types that keep money exact and times timezone-aware on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator

from dashboard.core.formatting import normalize, plain

# 22 integer digits and 18 fractional digits: the issue asks for at least 20 and 18.
PRECISION, SCALE = 40, 18
INTEGER_DIGITS = PRECISION - SCALE  # every check of "too large" on the way in uses this bound


class ExactDecimal(TypeDecorator):
    """A Decimal stored without ever passing through float.

    PostgreSQL stores NUMERIC(40, 18). SQLite has no exact decimal type (its NUMERIC
    affinity converts to an 8-byte float), so there the value is stored as its plain
    decimal text. Plain text of a non-negative value never starts with '-', which is what
    lets the same `CHECK (amount >= 0)` hold on SQLite: with TEXT affinity SQLite compares
    the column to '0' as text and '-' sorts before every digit.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(PRECISION + 2))
        return dialect.type_descriptor(Numeric(PRECISION, SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float) or isinstance(value, bool):
            raise TypeError("money must be a Decimal, never a float or bool")
        if not isinstance(value, (Decimal, int)):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError("money must be a finite number")
        if value.as_tuple().exponent < -SCALE:
            raise ValueError(f"money has more than {SCALE} decimal places: {value}")
        integer_digits = len(value.as_tuple().digits) + value.as_tuple().exponent
        if integer_digits > INTEGER_DIGITS:
            raise ValueError(f"money has more than {INTEGER_DIGITS} integer digits")
        return plain(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # Normalised so both databases hand back the same Decimal (PostgreSQL pads to the
        # column's scale, SQLite returns the text as written).
        return normalize(Decimal(value))


class UtcDateTime(TypeDecorator):
    """A timezone-aware datetime, stored in UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("times must be timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
