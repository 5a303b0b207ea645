"""Positions of an account as seen at a moment (from the broker or its stream)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Field

from justtrades.models.base import TABLE_OPTIONS, Base, id_field
from justtrades.models.types import ExactNumeric, UtcDateTime, utcnow


class PositionSnapshot(Base, table=True):
    __tablename__ = "position_snapshots"
    __table_args__ = (TABLE_OPTIONS,)

    id: int | None = id_field()
    account_id: int = Field(foreign_key="accounts.id", ondelete="CASCADE", index=True)
    symbol: str = Field(max_length=32)
    net_pos: int
    avg_price: Decimal | None = Field(default=None, sa_type=ExactNumeric(18, 8), nullable=True)
    taken_at: datetime = Field(
        default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True
    )
