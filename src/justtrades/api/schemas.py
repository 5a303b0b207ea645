"""Request and response bodies of the REST API. Settings use RiskSettings itself: one name per
setting from the database through the API to the form."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from justtrades.execution.settings import RiskSettings


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_ID = 2_147_483_647
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"  # no control characters (PostgreSQL refuses NUL)
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE)]
Ref = Annotated[int, Field(ge=1, le=MAX_ID)]


class ConnectionIn(Strict):
    broker: Literal["tradovate", "paper"] = "tradovate"
    name: Name
    environment: Literal["demo", "live", "custom"] = "demo"
    base_url: str | None = Field(
        None,
        max_length=300,
        pattern=PRINTABLE,
        description="any Tradovate-compatible URL (a simulator's /v1)",
    )
    username: Short | None = None
    password: Short | None = Field(None, repr=False)
    app_id: Short | None = None
    app_version: Short | None = None
    cid: int | Short | None = None
    sec: str | None = Field(None, max_length=8192, pattern=PRINTABLE, repr=False)
    device_id: Short | None = None


class AccountOut(BaseModel):
    id: int
    connection_id: int
    broker_account_id: str
    name: str
    active: bool


class ConnectionOut(BaseModel):
    id: int
    broker: str
    name: str
    environment: str
    base_url: str | None
    username: str | None
    status: str
    last_error: str | None
    created_at: datetime
    accounts: list[AccountOut] = []


class StrategyIn(Strict):
    name: Name
    symbol: str = Field(
        "MNQ1!", min_length=1, max_length=32, pattern=PRINTABLE, description="default ticker"
    )
    enabled: bool = True
    settings: RiskSettings = RiskSettings()


class StrategyPatch(Strict):
    name: Name | None = None
    symbol: str | None = Field(None, min_length=1, max_length=32, pattern=PRINTABLE)
    enabled: bool | None = None
    settings: RiskSettings | None = None
    rotate_token: bool = Field(False, description="issue a new webhook URL (the old one dies)")


class WithSettings(BaseModel):
    """Settings are shown as set: an absent name inherits; 0 and false are values."""

    settings: RiskSettings

    @field_serializer("settings")
    def _only_set(self, settings: RiskSettings) -> dict[str, Any]:
        return settings.model_dump(mode="json", exclude_none=True)


class StrategyOut(WithSettings):
    id: int
    name: str
    symbol: str
    enabled: bool
    webhook_url: str
    created_at: datetime


class TraderIn(Strict):
    strategy_id: Ref
    account_id: Ref
    enabled: bool = True
    multiplier: Decimal = Field(Decimal(1), gt=0, le=1000)
    settings: RiskSettings = RiskSettings()


class TraderPatch(Strict):
    enabled: bool | None = None
    multiplier: Decimal | None = Field(None, gt=0, le=1000)
    settings: RiskSettings | None = None


class TraderOut(WithSettings):
    id: int
    strategy_id: int
    account_id: int
    enabled: bool
    multiplier: Decimal


class BrokerCallOut(BaseModel):
    seq: int
    endpoint: str
    client_order_id: str | None
    request: Any
    response: Any
    outcome: str
    error: str | None
    latency_ms: float | None
    started_at: datetime


class ExecutionOut(BaseModel):
    id: int
    trader_id: int | None
    account_id: int | None
    symbol: str | None
    status: str
    plan: Any
    result: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    timings: dict[str, float] | None = Field(
        None,
        description="ms since the signal's receipt: lane_ms (its lane turn), planned_ms, "
        "first_order_sent_ms, last_order_acknowledged_ms (the stages it reached)",
    )
    broker_calls: list[BrokerCallOut] = []


class SignalOut(BaseModel):
    id: int
    strategy_id: int
    received_at: datetime
    status: str
    status_reason: str | None
    error: str | None
    intent: Any
    body: str
    finished_at: datetime | None
    timings: dict[str, Any] = Field(
        default_factory=dict,
        description="received_at (ISO time), then ms since it: stored_ms, queued_ms; with "
        "the executions also lane_ms, planned_ms, first_order_sent_ms (the first trader's) "
        "and last_order_acknowledged_ms (the last trader's)",
    )
    executions: list[ExecutionOut] | None = None


class WorkingOrderOut(BaseModel):
    order_id: str
    side: str
    qty: int
    order_type: str
    price: Decimal | None
    stop_price: Decimal | None
    status: str


class PositionOut(BaseModel):
    account_id: int
    account_name: str
    symbol: str
    net_pos: int
    avg_price: Decimal | None
    working_orders: list[WorkingOrderOut] = []


class PositionsOut(BaseModel):
    positions: list[PositionOut]
    errors: dict[str, str] = {}
