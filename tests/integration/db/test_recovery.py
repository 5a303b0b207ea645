"""Recovery at start on SQLite and PostgreSQL: a signal resumed after a restart is resumed
the same way after a second one (found by review: a resumed signal set back to `accepted`
re-ran the trader that had placed orders; a superseded execution kept its trader from ever
running again)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.dbfixtures import add_user_rows

from justtrades.clock import FakeClock
from justtrades.execution.intake import SignalJob, SignalQueue
from justtrades.execution.recovery import recover_signals
from justtrades.execution.signal import parse_signal
from justtrades.models import Execution, Signal


async def drain(queue: SignalQueue) -> list[SignalJob]:
    jobs = []
    while queue.qsize():
        jobs.append(await queue.get())
    return jobs


async def restart(
    session_factory: async_sessionmaker[AsyncSession], clock: FakeClock
) -> list[SignalJob]:
    queue = SignalQueue()
    await recover_signals(session_factory, clock, queue, 30)
    return await drain(queue)


async def test_a_trader_that_placed_orders_is_never_rerun_however_many_restarts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    async with session_factory() as s:
        rows = await add_user_rows(s)
        rows.signal.status, rows.signal.received_at = "executing", clock.now()
        rows.signal.intent = parse_signal(b"buy MNQ1!", "text/plain").model_dump(mode="json")
        rows.execution.status = "running"
        call = rows.broker_call
        call.outcome, call.endpoint, call.request = "ok", "place_bracket", {"step": "1/1"}
        await s.commit()
        trader_id, account_id, signal_id = rows.trader.id, rows.account.id, rows.signal.id
    [first] = await restart(session_factory, clock)
    assert first.skip_traders == {trader_id} and first.skip_accounts == {account_id}
    assert first.prior == ("done",)  # its one step is at the broker
    clock.advance(1)  # stopped again before the re-run reached anyone's lane turn
    [second] = await restart(session_factory, clock)
    assert second.skip_traders == {trader_id} and second.prior == ("done",)
    async with session_factory() as s:
        signal = await s.get(Signal, signal_id)
        assert signal is not None and signal.status == "executing"


async def test_a_trader_whose_orders_never_reached_the_broker_runs_again_after_two_restarts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    async with session_factory() as s:
        rows = await add_user_rows(s)
        rows.signal.status, rows.signal.received_at = "executing", clock.now()
        rows.signal.intent = parse_signal(b"buy MNQ1!", "text/plain").model_dump(mode="json")
        rows.execution.status = "running"
        rows.broker_call.outcome, rows.broker_call.endpoint = "failed", "place_bracket"
        await s.commit()
        trader_id, account_id, signal_id = rows.trader.id, rows.account.id, rows.signal.id
    [first] = await restart(session_factory, clock)
    assert first.skip_traders == frozenset() and first.prior == ()
    async with session_factory() as s:  # its re-run reached its lane turn, then a crash
        s.add(
            Execution(
                signal_id=signal_id, trader_id=trader_id, account_id=account_id, status="running"
            )
        )
        await s.commit()
    [second] = await restart(session_factory, clock)
    assert second.skip_traders == frozenset() and second.prior == ()  # it runs again


async def test_a_reversal_cut_off_after_its_flatten_resumes_from_the_brokers_position(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from sqlmodel import select

    clock = FakeClock()
    async with session_factory() as s:
        rows = await add_user_rows(s)
        rows.signal.status, rows.signal.received_at = "executing", clock.now()
        rows.signal.intent = parse_signal(b"sell MNQ1!", "text/plain").model_dump(mode="json")
        rows.execution.status = "running"
        call = rows.broker_call  # the flatten is done; the entry was never sent
        call.outcome, call.endpoint, call.request = "ok", "flatten", {"step": "1/2"}
        await s.commit()
        execution_id = rows.execution.id
    [job] = await restart(session_factory, clock)
    assert job.skip_traders == frozenset() and job.prior == ()  # the trader runs again
    async with session_factory() as s:
        [old] = (await s.execute(select(Execution).where(Execution.id == execution_id))).scalars()
        assert old.status == "failed" and "resumes from the broker's position" in (old.error or "")
    [again] = await restart(session_factory, clock)  # and again after a second restart
    assert again.skip_traders == frozenset()
