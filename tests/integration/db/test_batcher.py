"""The group-commit writer on SQLite and PostgreSQL: writes submitted together share one
transaction, ids come back in order, and one bad write fails alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import select
from tests.dbfixtures import add_user_rows

from justtrades.clock import FakeClock
from justtrades.execution.sqlstore import SqlStore
from justtrades.execution.store import CallRecord, ExecutionRecord
from justtrades.models import BrokerCall, Signal


async def owner(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """A user and a strategy to write signals for: (user id, strategy id)."""
    async with session_factory() as s:
        rows = await add_user_rows(s)
        await s.commit()
        assert rows.user.id is not None and rows.strategy.id is not None
        return rows.user.id, rows.strategy.id


async def test_a_fan_out_of_write_ahead_records_commits_together_and_one_bad_write_fails_alone(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    writer = asyncio.create_task(store.batcher.run())
    try:
        signal_id = await store.add_signal(
            Signal(
                user_id=user_id,
                strategy_id=strategy_id,
                received_at=clock.now(),
                body="buy",
                body_hash="h",
                status="accepted",
            )
        )
        executions = await asyncio.gather(
            *(
                store.start_execution(
                    ExecutionRecord(signal_id, None, None, None, "running", clock.now()),
                    {"stored_ms": 1.0},
                )
                for _ in range(200)
            )
        )
        assert len(set(executions)) == 200
        before = store.batcher.batches
        calls = [
            CallRecord(e, 1, "place_bracket", "sent", clock.now(), client_order_id=f"jt-{e}")
            for e in executions
        ]
        bad = CallRecord(10**9, 1, "place_order", "sent", clock.now())  # no such execution
        results = await asyncio.gather(
            *(store.add_call(c) for c in calls[:100]),
            store.add_call(bad),
            *(store.add_call(c) for c in calls[100:]),
            return_exceptions=True,
        )
        assert isinstance(results[100], Exception)
        ids = [r for i, r in enumerate(results) if i != 100]
        assert all(isinstance(i, int) for i in ids)
        assert ids == [c.id for c in calls]  # each record got its own id back
        # the failed batch is halved until the bad write is alone: a few commits, not 200
        assert store.batcher.batches - before <= 20
        await store.finish_signal(signal_id, "done", "ok", {"queued_ms": 2.0}, clock.now())
        await store.idle()
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
    async with session_factory() as s:
        signal = await s.get(Signal, signal_id)
        assert signal is not None
        assert signal.status == "done" and signal.timings == {"queued_ms": 2.0}
        stored = (await s.execute(select(BrokerCall))).scalars().all()
        assert sorted(c.client_order_id for c in stored if c.execution_id in executions) == sorted(
            f"jt-{e}" for e in executions
        )


async def test_writes_submitted_together_share_one_transaction(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    signals = [
        Signal(
            user_id=user_id,
            strategy_id=strategy_id,
            received_at=clock.now(),
            body=str(i),
            body_hash=str(i),
            status="accepted",
        )
        for i in range(300)
    ]
    pending = [asyncio.ensure_future(store.add_signal(row)) for row in signals]
    await asyncio.sleep(0)  # all submitted before the writer runs
    writer = asyncio.create_task(store.batcher.run())
    try:
        ids = await asyncio.gather(*pending)
    finally:
        writer.cancel()
    assert store.batcher.batches == 1 and store.batcher.writes == 300
    assert ids == sorted(ids) and len(set(ids)) == 300


async def test_a_stopped_writer_fails_what_is_pending_and_refuses_new_writes(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from justtrades.execution.batcher import WriterStopped

    clock = FakeClock()
    store = SqlStore(db_engine)
    writer = asyncio.create_task(store.batcher.run())
    await asyncio.sleep(0)
    writer.cancel()  # stopped with nothing in flight
    with pytest.raises(asyncio.CancelledError):
        await writer
    pending = asyncio.ensure_future(
        store.add_call(CallRecord(1, 1, "place_order", "sent", clock.now()))
    )
    with pytest.raises(WriterStopped):
        await asyncio.wait_for(pending, 5)  # never a wait without end
