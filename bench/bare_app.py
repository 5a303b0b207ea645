"""The yardstick for the webhook's answer time: a bare Starlette endpoint that does what any
durable webhook must (one INSERT of the body, committed) and nothing else. Run by
bench/ack_bench.py as its own uvicorn process: `python -m bench.bare_app URL PORT`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, event, insert
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

META = MetaData()
HOOKS = Table(
    "bare_hooks",
    META,
    Column("id", Integer, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
)


def build(url: str) -> Starlette:
    sqlite = url.startswith("sqlite")
    db = create_async_engine(url, pool_pre_ping=not sqlite)
    if sqlite:  # as the service runs SQLite: WAL, synchronous NORMAL

        @event.listens_for(db.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with db.begin() as conn:
            await conn.run_sync(META.create_all)
        yield
        await db.dispose()

    async def hook(request: Request) -> JSONResponse:
        body = (await request.body()).decode("utf-8", errors="replace")
        async with db.begin() as conn:
            row = await conn.execute(
                insert(HOOKS).values(received_at=datetime.now(UTC), body=body).returning(HOOKS.c.id)
            )
            new_id = row.scalar_one()
        return JSONResponse({"signal_id": new_id, "status": "accepted"})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        build(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_config=None,
        log_level="warning",
        access_log=False,
    )
