"""Received signals, what each trader did with them (executions) and every broker call made."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field

from justtrades.models.base import (
    TABLE_OPTIONS,
    Base,
    created_at_field,
    id_field,
    one_of,
    owner_field,
    timestamp_field,
)
from justtrades.models.types import JSONType, UtcDateTime, utcnow


class SignalStatus(StrEnum):
    """Accepted and executing are in flight; every other status is final."""

    ACCEPTED = "accepted"
    EXECUTING = "executing"
    DONE = "done"
    EXPIRED = "expired"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    IGNORED = "ignored"  # the strategy was disabled
    INTERRUPTED = "interrupted"  # stopped while executing and too old to resume: reconcile
    SKIPPED = "skipped"  # every trader was blocked (a filter, disabled before its turn)


class ExecutionStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class CallOutcome(StrEnum):
    """`unknown`: sent, but no definitive answer (timeout, 5xx, ...): reconciliation decides."""

    SENT = "sent"
    OK = "ok"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED = "failed"


def _json_field() -> Any:
    return Field(default=None, sa_type=JSONType, nullable=True)


def _text_field() -> Any:
    return Field(default=None, sa_type=Text, nullable=True)


class Signal(Base, table=True):
    """One received alert: the durable record, written before it is acknowledged."""

    __tablename__ = "signals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["strategy_id", "user_id"],
            ["strategies.id", "strategies.user_id"],
            ondelete="CASCADE",
        ),
        # Duplicate detection: the same body on the same strategy within a time window.
        Index(None, "strategy_id", "body_hash", "received_at"),
        one_of("status", [s.value for s in SignalStatus]),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    user_id: int = owner_field()
    strategy_id: int
    received_at: datetime = Field(
        default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=True
    )
    content_type: str | None = Field(default=None, max_length=255)
    body: str = Field(sa_type=Text)
    body_hash: str = Field(max_length=64)
    # Indexed: at start-up, signals accepted or executing but never finished are recovered.
    status: str = Field(max_length=20, index=True)
    status_reason: str | None = _text_field()
    intent: dict[str, Any] | None = _json_field()
    error: str | None = _text_field()
    finished_at: datetime | None = timestamp_field()
    timings: dict[str, Any] | None = _json_field()  # ms since receipt: stored, queued


class Execution(Base, table=True):
    """What happened for one trader on one signal. Kept (trader and account set to NULL) when
    the trader or account is deleted: it is history."""

    __tablename__ = "executions"
    __table_args__ = (
        one_of("status", [s.value for s in ExecutionStatus]),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    signal_id: int = Field(foreign_key="signals.id", ondelete="CASCADE", index=True)
    trader_id: int | None = Field(
        default=None, foreign_key="traders.id", ondelete="SET NULL", index=True
    )
    account_id: int | None = Field(
        default=None, foreign_key="accounts.id", ondelete="SET NULL", index=True
    )
    symbol: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=20)
    plan: dict[str, Any] | None = _json_field()
    result: str | None = _text_field()
    error: str | None = _text_field()
    created_at: datetime = created_at_field()
    finished_at: datetime | None = timestamp_field()
    # ms since the signal's receipt: lane, planned, first_order_sent, last_order_acknowledged
    timings: dict[str, Any] | None = _json_field()


class BrokerCall(Base, table=True):
    """One request to a broker, recorded before it is sent and completed with its outcome."""

    __tablename__ = "broker_calls"
    __table_args__ = (
        # `seq` orders the calls of one execution; a step is never recorded twice.
        UniqueConstraint("execution_id", "seq"),
        one_of("outcome", [o.value for o in CallOutcome]),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    # Indexed by the (execution_id, seq) unique constraint.
    execution_id: int = Field(foreign_key="executions.id", ondelete="CASCADE")
    seq: int
    endpoint: str = Field(max_length=64)
    client_order_id: str | None = Field(default=None, max_length=64)
    request: dict[str, Any] | None = _json_field()
    response: dict[str, Any] | None = _json_field()
    outcome: str = Field(max_length=20)
    error: str | None = _text_field()
    latency_ms: float | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    finished_at: datetime | None = timestamp_field()
