"""Monitoring for operators: /health (liveness) and /status (readiness and components)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from justtrades.app import Services

router = APIRouter(tags=["monitoring"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/status", summary="Readiness and component state")
async def status(request: Request) -> JSONResponse:
    svc: Services = request.app.state.services
    db: dict[str, Any] = {"ok": True}
    started = time.perf_counter()
    try:
        async with svc.db.connect() as conn:
            await conn.execute(text("SELECT 1"))
        db["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    except Exception as e:  # reported, never raised: this endpoint must answer
        db = {"ok": False, "error": type(e).__name__}
    engine = svc.engine
    body = {
        "status": "ok" if db["ok"] and engine.alive else "degraded",
        "database": db,
        "queue_depth": engine.queue.qsize(),
        "workers": {"dispatcher_alive": engine.alive, "signals_running": len(engine.running)},
        "last_signal_at": engine.last_signal_at.isoformat() if engine.last_signal_at else None,
        "strategies_cached": len(engine.cache),
        "signals": dict(engine.counts),
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
