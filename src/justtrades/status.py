"""What /status shows. Without an admin key: component health only (nothing that tells one
tenant's activity from another's, no counts: global totals are on /metrics). With an admin key:
the detail per task, per strategy, per connection, and the broker calls whose outcome is not
settled."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, text
from sqlmodel import col, select

from justtrades import __version__
from justtrades.logs import scrub
from justtrades.models import BrokerCall, BrokerConnection, Execution, Signal, Strategy

if TYPE_CHECKING:
    from justtrades.app import Services

ACTIVITY_WINDOW = timedelta(hours=24)
DETAIL_LIMIT = 50  # rows per list in the admin detail
UNSETTLED = ("sent", "unknown")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def database_health(svc: Services) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with svc.db.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as e:  # reported, never raised: this endpoint must answer
        return {"ok": False, "error": type(e).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def public_status(svc: Services) -> dict[str, Any]:
    database = await database_health(svc)
    engine, tasks = svc.engine, svc.tasks
    healthy = database["ok"] and engine.dispatcher_state == "running" and tasks.healthy
    return {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "database": database,
        "queue_depth": engine.queue.qsize(),
        "workers": {
            "dispatcher": engine.dispatcher_state,
            "dispatcher_alive": engine.dispatcher_state == "running",
            "accepting_signals": engine.accepting,
            "signals_running": len(engine.running),
        },
        "tasks": {
            "states": tasks.counts(),
            "list": [t.summary() for t in tasks.states() if t.public],
        },
    }


async def admin_detail(svc: Services) -> dict[str, Any]:
    since = svc.clock.now() - ACTIVITY_WINDOW
    async with svc.sessions() as s:
        activity = (
            await s.execute(
                select(
                    Signal.strategy_id,
                    Signal.status,
                    func.count(),
                    func.max(Signal.received_at),
                )
                .where(col(Signal.received_at) >= since)
                .group_by(col(Signal.strategy_id), col(Signal.status))
            )
        ).all()
        per_strategy: dict[int, dict[str, Any]] = {}
        for strategy_id, status, count, last in activity:
            entry = per_strategy.setdefault(strategy_id, {"signals_24h": {}, "last": None})
            entry["signals_24h"][status] = count
            entry["last"] = max(filter(None, (entry["last"], last)), default=None)
        strategies = (
            await s.execute(select(Strategy).where(col(Strategy.id).in_(list(per_strategy))))
        ).scalars()
        strategy_rows = sorted(
            (
                {
                    "strategy_id": row.id,
                    "user_id": row.user_id,
                    "name": row.name,
                    "enabled": row.enabled,
                    "signals_24h": per_strategy[row.id]["signals_24h"] if row.id else {},
                    "last_signal_at": _iso(per_strategy[row.id]["last"]) if row.id else None,
                }
                for row in strategies
            ),
            key=lambda r: r["last_signal_at"] or "",
            reverse=True,
        )[:DETAIL_LIMIT]
        unsettled_count = await s.scalar(
            select(func.count())
            .select_from(BrokerCall)
            .where(col(BrokerCall.outcome).in_(UNSETTLED))
        )
        unsettled = (
            await s.execute(
                select(BrokerCall, Execution)
                .join(Execution, col(BrokerCall.execution_id) == col(Execution.id))
                .where(col(BrokerCall.outcome).in_(UNSETTLED))
                .order_by(col(BrokerCall.id).desc())
                .limit(DETAIL_LIMIT)
            )
        ).all()
        failures = (
            await s.execute(
                select(Execution)
                .where(col(Execution.status) == "failed")
                .order_by(col(Execution.id).desc())
                .limit(DETAIL_LIMIT)
            )
        ).scalars()
        connections = (
            await s.execute(select(BrokerConnection).order_by(col(BrokerConnection.id)))
        ).scalars()
        connection_rows = [
            {
                "connection_id": c.id,
                "user_id": c.user_id,
                "broker": c.broker,
                "environment": c.environment,
                "status": c.status,
                "last_error": scrub(c.last_error) if c.last_error else None,
                "session": svc.registry.auth_state(c.id) if c.id is not None else None,
            }
            for c in connections
        ]
        failure_rows = [
            {
                "execution_id": e.id,
                "signal_id": e.signal_id,
                "account_id": e.account_id,
                "symbol": e.symbol,
                "error": scrub(e.error) if e.error else None,
                "finished_at": _iso(e.finished_at),
            }
            for e in failures
        ]
    return {
        "tasks": [t.detail() for t in svc.tasks.states()],
        "strategies": strategy_rows,
        "connections": connection_rows,
        "unresolved_outcomes": {
            "count": unsettled_count or 0,
            "recent": [
                {
                    "call_id": call.id,
                    "execution_id": call.execution_id,
                    "signal_id": ex.signal_id,
                    "account_id": ex.account_id,
                    "endpoint": call.endpoint,
                    "client_order_id": call.client_order_id,
                    "outcome": call.outcome,
                    "error": scrub(call.error) if call.error else None,
                    "started_at": _iso(call.started_at),
                }
                for call, ex in unsettled
            ],
        },
        "recent_failures": failure_rows,
    }
