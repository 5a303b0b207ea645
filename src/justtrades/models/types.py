"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Interval, Numeric, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeEngine

__all__ = ["ExactNumeric", "JSONType", "UtcDateTime", "utcnow"]

# SQLite stores NUMERIC as a REAL (a double): 15 significant digits survive the round trip.
SQLITE_EXACT_DIGITS = 15


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL: `timestamp with time zone`. SQLite has no time zones: the UTC wall time is stored
    (fixed-width text, so comparisons and ORDER BY stay chronological) and UTC is put back on
    read. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> TypeEngine[Any]:
        # `column + timedelta(...)` must stay an interval, not become a datetime parameter.
        if isinstance(value, timedelta):
            return Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactNumeric(TypeDecorator[Decimal]):
    """NUMERIC(precision, scale) returned as Decimal, rounded the same way on both backends.

    Values are rounded to `scale` half away from zero (as PostgreSQL does) before they are sent.
    SQLite keeps NUMERIC as a double, exact to 15 significant digits: a value needing more is
    refused there instead of silently losing digits. Floats are refused everywhere.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float) or not isinstance(value, Decimal | int):
            raise TypeError(f"{value!r}: store a Decimal or an int, not {type(value).__name__}")
        rounded = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite" and len(rounded.as_tuple().digits) > SQLITE_EXACT_DIGITS:
            raise ValueError(f"{value} has more than {SQLITE_EXACT_DIGITS} digits (SQLite limit)")
        return rounded

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).quantize(self._quantum)


# JSON documents; Python None is SQL NULL (not the JSON literal null). JSONB on PostgreSQL.
JSONType: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
