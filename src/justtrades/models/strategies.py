"""Strategies (signal sources with a secret webhook URL) and their traders (one per account)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKeyConstraint, UniqueConstraint, text, true
from sqlmodel import Field

from justtrades.models.base import (
    TABLE_OPTIONS,
    Base,
    created_at_field,
    id_field,
    owner_field,
    updated_at_field,
)
from justtrades.models.types import ExactNumeric, JSONType


def _settings_field() -> Any:
    """A JSON object of settings (plain JSON values: convert Decimals and datetimes first)."""
    return Field(
        default_factory=dict,
        sa_type=JSONType,
        nullable=False,
        sa_column_kwargs={"server_default": text("'{}'")},
    )


class Strategy(Base, table=True):
    __tablename__ = "strategies"
    __table_args__ = (
        # Target of the (strategy_id, user_id) foreign keys of traders and signals.
        UniqueConstraint("id", "user_id"),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    user_id: int = owner_field()
    name: str
    webhook_token: str = Field(max_length=64, unique=True, index=True)
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    symbol: str = Field(max_length=32)
    settings: dict[str, Any] = _settings_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Trader(Base, table=True):
    """A strategy bound to one account of the same user, with its multiplier and overrides."""

    __tablename__ = "traders"
    __table_args__ = (
        ForeignKeyConstraint(
            ["strategy_id", "user_id"],
            ["strategies.id", "strategies.user_id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["account_id", "user_id"],
            ["accounts.id", "accounts.user_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("strategy_id", "account_id"),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    user_id: int = owner_field()
    strategy_id: int
    account_id: int = Field(index=True)
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    multiplier: Decimal = Field(
        default=Decimal(1),
        sa_type=ExactNumeric(12, 4),
        nullable=False,
        sa_column_kwargs={"server_default": text("1")},
    )
    settings: dict[str, Any] = _settings_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
