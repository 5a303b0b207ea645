"""The group-commit writer on SQLite and PostgreSQL: writes submitted together share one
transaction, ids come back in order, and one bad write fails alone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import select
from tests.dbfixtures import add_user_rows

from justtrades.clock import FakeClock
from justtrades.execution.sqlstore import SqlStore
from justtrades.execution.store import CallRecord, ExecutionRecord
from justtrades.models import BrokerCall, Signal


@contextlib.asynccontextmanager
async def writing(store: SqlStore) -> AsyncIterator[None]:
    """The store's writer running for the block, then stopped (as the supervisor would)."""
    writer = asyncio.create_task(store.batcher.run())
    try:
        yield
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer


async def owner(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """A user and a strategy to write signals for: (user id, strategy id)."""
    async with session_factory() as s:
        rows = await add_user_rows(s)
        await s.commit()
        assert rows.user.id is not None and rows.strategy.id is not None
        return rows.user.id, rows.strategy.id


def a_signal(user_id: int, strategy_id: int, clock: FakeClock, body: str = "buy") -> Signal:
    return Signal(
        user_id=user_id,
        strategy_id=strategy_id,
        received_at=clock.now(),
        body=body,
        body_hash=body,
        status="accepted",
    )


async def test_a_fan_out_of_write_ahead_records_commits_together_and_one_bad_write_fails_alone(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    async with writing(store):
        signal_id = await store.add_signal(a_signal(user_id, strategy_id, clock))
        executions = await asyncio.gather(
            *(
                store.add_execution(
                    ExecutionRecord(signal_id, None, None, None, "running", clock.now()),
                    (),
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
    signals = [a_signal(user_id, strategy_id, clock, str(i)) for i in range(300)]
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


async def test_an_execution_and_its_first_order_record_share_one_commit(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # The first write-ahead record needs its execution's id: written together (dependent
    # writes), one commit before the order leaves instead of two in a row.
    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    async with writing(store):
        signal_id = await store.add_signal(a_signal(user_id, strategy_id, clock))
        before = store.batcher.batches
        execution = ExecutionRecord(signal_id, None, None, None, "running", clock.now())
        call = CallRecord(0, 1, "place_bracket", "sent", clock.now(), client_order_id="jt-1")
        execution_id = await store.add_execution(execution, [call])
        assert store.batcher.batches - before == 1
        assert call.execution_id == execution_id and call.id is not None
        # a fan-out's: every execution with its record, still a few commits for all of them
        before = store.batcher.batches
        rows = [
            ExecutionRecord(signal_id, None, None, None, "running", clock.now()) for _ in range(50)
        ]
        first = [
            CallRecord(0, 1, "place_bracket", "sent", clock.now(), client_order_id=f"jt-f{i}")
            for i in range(50)
        ]
        pairs = zip(rows, first, strict=True)
        ids = await asyncio.gather(*(store.add_execution(r, [c]) for r, c in pairs))
        assert store.batcher.batches - before <= 2
        assert [c.execution_id for c in first] == ids and len(set(ids)) == 50
    async with session_factory() as s:
        stored = (await s.execute(select(BrokerCall))).scalars().all()
        by_coid = {c.client_order_id: c.execution_id for c in stored}
        assert by_coid["jt-1"] == execution_id
        assert [by_coid[f"jt-f{i}"] for i in range(50)] == ids


async def test_a_write_that_depends_on_one_being_committed_follows_it_and_fails_with_it(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from justtrades.execution.batcher import DependencyFailed, Write
    from justtrades.execution.sqlstore import CALLS, EXECUTIONS, _values

    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)

    def execution_write(signal: int) -> Write:
        row = ExecutionRecord(signal, None, None, None, "running", clock.now())
        return store._insert_write(store.insert_execution, EXECUTIONS, row)

    def call_write(after: Write) -> Write:
        call = CallRecord(0, 1, "place_order", "sent", clock.now(), client_order_id="jt-dep")
        write = store._insert_write(store.insert_call, CALLS, call)
        write.after, write.bind = after, lambda new_id: {"execution_id": new_id}
        return write

    assert _values  # the store's own column mapping builds these writes
    async with writing(store):
        signal_id = await store.add_signal(a_signal(user_id, strategy_id, clock, "one"))
        parent = execution_write(signal_id)
        parent_done = store.batcher.submit(parent)
        for _ in range(3):
            await asyncio.sleep(0)
        assert not parent.pending  # the writer has taken it: it is being committed
        child_done = store.batcher.submit(call_write(parent))
        parent_id = await parent_done
        child_id = await child_done
        await store.idle()
        assert isinstance(child_id, int)
        # a dependency that fails (no such signal): what depends on it fails, never written
        orphan = execution_write(10**9)
        orphan_done = store.batcher.submit(orphan)
        dependent_done = store.batcher.submit(call_write(orphan))
        results = await asyncio.gather(orphan_done, dependent_done, return_exceptions=True)
        assert not isinstance(results[0], int)
        assert isinstance(results[1], DependencyFailed)
    async with session_factory() as s:
        stored = (await s.execute(select(BrokerCall))).scalars().all()
        ours = [(c.client_order_id, c.execution_id) for c in stored if c.client_order_id]
        assert ours == [("jt-dep", parent_id)]


async def test_the_writer_replaces_a_connection_that_broke_and_loses_nothing(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Its own connection, cut off under it (a database restart, an idle timeout): the next
    # batch finds it broken before its COMMIT, so it is written again on a new connection.
    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    async with writing(store):
        first = await store.add_signal(a_signal(user_id, strategy_id, clock, "first"))
        old = _connection(store)
        assert old is not None
        await _break(store, db_engine)
        second = await asyncio.wait_for(
            store.add_signal(a_signal(user_id, strategy_id, clock, "second")), 10
        )
        assert _connection(store) is not old  # replaced
    async with session_factory() as s:
        bodies = (await s.execute(select(Signal.body).order_by(Signal.id))).scalars().all()
    assert list(bodies)[-2:] == ["first", "second"] and second > first


def _connection(store: SqlStore) -> object:
    """The writer's own (transactional) connection."""
    from justtrades.execution.connections import AsyncBackend, ThreadBackend

    backend = store.batcher.backend
    if isinstance(backend, ThreadBackend):
        return backend._worker.conn if backend._worker else None
    assert isinstance(backend, AsyncBackend)
    return backend._conn


async def _break(store: SqlStore, db: AsyncEngine) -> None:
    """Cuts the writer's connection off from outside, as a server would."""
    from sqlalchemy import text

    from justtrades.execution.connections import AsyncBackend, ThreadBackend

    backend = store.batcher.backend
    if isinstance(backend, ThreadBackend):
        worker = backend._worker
        assert worker is not None and worker.conn is not None
        raw = worker.conn.connection.dbapi_connection
        assert raw is not None
        await asyncio.get_running_loop().run_in_executor(worker.thread, raw.close)
        return
    assert isinstance(backend, AsyncBackend)
    backend._auto_used = float("-inf")  # idle: the write goes in a (replayable) transaction
    async with db.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'justtrades' AND pid <> pg_backend_pid() "
                "AND datname = current_database()"
            )
        )
        await conn.commit()


async def test_after_a_pause_single_writes_go_back_to_autocommit_on_a_fresh_connection(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # PostgreSQL: single writes in autocommit, on a connection used within the last second;
    # after a pause one write goes in a transaction and the autocommit connection is replaced
    # by a fresh one (found by review: it was never trusted again). SQLite: one connection in
    # the writer's thread, kept across the pause.
    from justtrades.execution.connections import AsyncBackend, ThreadBackend

    clock = FakeClock()
    user_id, strategy_id = await owner(session_factory)
    store = SqlStore(db_engine)
    backend = store.batcher.backend

    def connection() -> object:
        if isinstance(backend, ThreadBackend):
            return backend._worker.conn if backend._worker else None
        assert isinstance(backend, AsyncBackend)
        return backend._auto

    async with writing(store):
        await store.add_signal(a_signal(user_id, strategy_id, clock, "first"))
        first = connection()
        assert first is not None
        await store.add_signal(a_signal(user_id, strategy_id, clock, "second"))
        assert connection() is first  # used while fresh
        if isinstance(backend, AsyncBackend):
            backend._auto_used -= 60  # a pause
        await store.add_signal(a_signal(user_id, strategy_id, clock, "third"))
        after_pause = connection()
        assert after_pause is not None
        assert (after_pause is first) is isinstance(backend, ThreadBackend)
        await store.add_signal(a_signal(user_id, strategy_id, clock, "fourth"))
        assert connection() is after_pause  # and used again
    async with session_factory() as s:
        bodies = (await s.execute(select(Signal.body).order_by(Signal.id))).scalars().all()
    assert list(bodies)[-4:] == ["first", "second", "third", "fourth"]
