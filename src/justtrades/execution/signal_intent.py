"""What an alert asks for, as parsed (execution/signal.py): `SignalIntent` and its limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BODY_BYTES = 64 * 1024
MAX_QUANTITY = 10_000
MAX_TICKER_CHARS = 64
MAX_COMMENT_CHARS = 500


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"


class AlertOverrides(BaseModel):
    """Per-signal setting overrides from the alert; None = not given (inherit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp_ticks: Decimal | None = None
    sl_ticks: Decimal | None = None
    tp_dollars: Decimal | None = None
    sl_dollars: Decimal | None = None
    risk_dollars: Decimal | None = None
    trail: bool | None = None
    trail_trigger: Decimal | None = None
    trail_freq: Decimal | None = None
    breakeven: bool | None = None
    breakeven_offset: Decimal | None = None


class SignalIntent(BaseModel):
    """What one alert asks for, before any strategy or trader setting is applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    close_side: Literal["long", "short"] | None = None
    ticker: str | None = None
    quantity: int | None = Field(default=None, ge=1)
    price: Decimal | None = Field(default=None, gt=0)
    alert_time: datetime | None = None
    market_position: Literal["long", "short", "flat"] | None = None
    position_size: Decimal | None = None
    prev_position_size: Decimal | None = None
    overrides: AlertOverrides = Field(default_factory=AlertOverrides)
    comment: str | None = None
