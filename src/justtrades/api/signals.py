"""REST API v1: signals (with their executions, calls and timings) and positions."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from justtrades.admin import connection_spec
from justtrades.api.common import (
    Id,
    QueryId,
    owned,
)
from justtrades.api.deps import CurrentUser, Session, Svc
from justtrades.api.schemas import (
    BrokerCallOut,
    ExecutionOut,
    PositionOut,
    PositionsOut,
    SignalOut,
    WorkingOrderOut,
)
from justtrades.execution.timing import EXECUTION_STAGES
from justtrades.models import (
    Account,
    BrokerCall,
    BrokerConnection,
    Execution,
    Signal,
)

router = APIRouter()


# --- signals and positions ---------------------------------------------------------------------


def _signal_timings(row: Signal, executions: list[ExecutionOut] | None) -> dict[str, Any]:
    """The signal's own stages, then its traders' (the first to reach each; the last order)."""
    out: dict[str, Any] = {"received_at": row.received_at.isoformat(), **(row.timings or {})}
    for stage in EXECUTION_STAGES:
        key = f"{stage}_ms"
        values = [e.timings[key] for e in executions or [] if e.timings and key in e.timings]
        if values:
            out[key] = max(values) if stage == "last_order_acknowledged" else min(values)
    return out


def _signal_out(row: Signal, executions: list[ExecutionOut] | None = None) -> SignalOut:
    assert row.id is not None
    return SignalOut(
        timings=_signal_timings(row, executions),
        id=row.id,
        strategy_id=row.strategy_id,
        received_at=row.received_at,
        status=row.status,
        status_reason=row.status_reason,
        error=row.error,
        intent=row.intent,
        body=row.body,
        finished_at=row.finished_at,
        executions=executions,
    )


@router.get("/signals", response_model=list[SignalOut])
async def list_signals(
    user: CurrentUser, s: Session, strategy_id: QueryId = None, limit: int = 50
) -> Any:
    query = select(Signal).where(Signal.user_id == user.id)
    if strategy_id is not None:
        query = query.where(Signal.strategy_id == strategy_id)
    limit = max(1, min(limit, 500))
    # Newest arrival first: received_at is stamped when the webhook arrives (before its first
    # await); ids follow the INSERTs' order, which PostgreSQL does not keep (ties: id).
    newest = query.order_by(col(Signal.received_at).desc(), col(Signal.id).desc())
    rows = (await s.execute(newest.limit(limit))).scalars().all()
    return [_signal_out(r) for r in rows]


@router.get(
    "/signals/{signal_id}",
    response_model=SignalOut,
    summary="A signal with, per trader, the plan and every broker call",
)
async def get_signal(signal_id: Id, user: CurrentUser, s: Session) -> Any:
    row = await owned(s, Signal, signal_id, user, "signal")
    executions = (
        (
            await s.execute(
                select(Execution)
                .where(Execution.signal_id == signal_id)
                .order_by(col(Execution.id))
            )
        )
        .scalars()
        .all()
    )
    ids = [e.id for e in executions]
    calls = (
        (
            await s.execute(
                select(BrokerCall)
                .where(col(BrokerCall.execution_id).in_(ids))
                .order_by(col(BrokerCall.execution_id), col(BrokerCall.seq))  # call order
            )
        )
        .scalars()
        .all()
        if ids
        else []
    )
    out = []
    for e in executions:
        assert e.id is not None
        out.append(
            ExecutionOut(
                id=e.id,
                trader_id=e.trader_id,
                account_id=e.account_id,
                symbol=e.symbol,
                status=e.status,
                plan=e.plan,
                result=e.result,
                error=e.error,
                created_at=e.created_at,
                finished_at=e.finished_at,
                timings=e.timings,
                broker_calls=[
                    BrokerCallOut.model_validate(c, from_attributes=True)
                    for c in calls
                    if c.execution_id == e.id
                ],
            )
        )
    return _signal_out(row, out)


@router.get(
    "/positions",
    response_model=PositionsOut,
    summary="Open positions and working orders, asked of the brokers now",
)
async def positions(user: CurrentUser, s: Session, svc: Svc) -> Any:
    rows = (
        await s.execute(
            select(Account, BrokerConnection)
            .join(BrokerConnection, col(Account.connection_id) == col(BrokerConnection.id))
            .where(Account.user_id == user.id, Account.active == True)  # noqa: E712
            .order_by(col(Account.id))
        )
    ).all()

    async def one(account: Account, conn: BrokerConnection) -> list[PositionOut]:
        assert account.id is not None and conn.id is not None
        spec = connection_spec(conn)
        broker = svc.registry.get(spec)
        held = await broker.get_positions(account.broker_account_id)
        orders = await broker.list_orders(account.broker_account_id)
        symbols = sorted({p.symbol for p in held} | {o.symbol for o in orders})
        by_symbol = {p.symbol: p for p in held}
        return [
            PositionOut(
                account_id=account.id,
                account_name=account.name,
                symbol=sym,
                net_pos=by_symbol[sym].net_pos if sym in by_symbol else 0,
                avg_price=by_symbol[sym].avg_price if sym in by_symbol else None,
                working_orders=[
                    WorkingOrderOut(
                        order_id=o.order_id,
                        side=o.side.value,
                        qty=o.qty,
                        order_type=o.order_type.value,
                        price=o.price,
                        stop_price=o.stop_price,
                        status=o.status,
                    )
                    for o in orders
                    if o.symbol == sym
                ],
            )
            for sym in symbols
        ]

    results = await asyncio.gather(*(one(a, c) for a, c in rows), return_exceptions=True)
    out = PositionsOut(positions=[])
    for (account, _), result in zip(rows, results, strict=True):
        if isinstance(result, BaseException):
            out.errors[str(account.id)] = f"{type(result).__name__}: {result}"
        else:
            out.positions.extend(result)
    return out
