"""The base of every table and the columns they share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, MetaData
from sqlmodel import Field, SQLModel

from justtrades.models.db import metadata as _metadata
from justtrades.models.types import UtcDateTime, utcnow

# Never reuse the id of a deleted row on SQLite either (PostgreSQL sequences never do): a
# signal or execution id in a log must not come to mean another row.
TABLE_OPTIONS: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(SQLModel):
    """Every table shares `justtrades.models.db.metadata` (and its naming convention).

    No relationships on purpose: rows refer to each other by id, queries join explicitly, and
    nothing is ever loaded lazily behind an `await`-less attribute access.
    """

    metadata: ClassVar[MetaData] = _metadata


def id_field() -> Any:
    return Field(default=None, primary_key=True)


def owner_field() -> Any:
    """`user_id`: the owner of the row; deleting the user deletes the row."""
    return Field(foreign_key="users.id", ondelete="CASCADE", index=True)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UtcDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def timestamp_field(*, index: bool = False) -> Any:
    """An optional aware UTC timestamp (NULL until it happens)."""
    return Field(default=None, sa_type=UtcDateTime, nullable=True, index=index)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """CHECK that `column` holds one of `values` (named `ck_<table>_<column>`)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)
