"""Recovery at start on SQLite and PostgreSQL: a signal resumed after a restart is resumed
the same way after a second one (found by review: a resumed signal set back to `accepted`
re-ran the trader that had placed orders; a superseded execution kept its trader from ever
running again)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.dbfixtures import add_user_rows

from justtrades.clock import FakeClock
from justtrades.execution.intake import SignalJob, SignalQueue
from justtrades.execution.recovery import recover_signals
from justtrades.execution.signal import parse_signal
from justtrades.models import Execution, Signal


class Serving:
    """A broker registry that answers every connection with one broker."""

    def __init__(self, broker: object) -> None:
        self.broker = broker

    def get(self, spec: object) -> object:
        return self.broker


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


async def cut_off(s: AsyncSession, clock: FakeClock, body: bytes) -> Any:
    """A user's rows as a process stopped mid-execution leaves them: the signal executing
    (received now, its intent parsed), its execution running, one broker call to set up."""
    rows = await add_user_rows(s)
    rows.signal.status, rows.signal.received_at = "executing", clock.now()
    rows.signal.intent = parse_signal(body, "text/plain").model_dump(mode="json")
    rows.execution.status = "running"
    return rows


async def test_a_trader_that_placed_orders_is_never_rerun_however_many_restarts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    async with session_factory() as s:
        rows = await cut_off(s, clock, b"buy MNQ1!")
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


async def test_a_signal_cut_off_before_its_executing_mark_is_read_from_its_executions(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # The mark is written after the first order's record (records.py): a stop in between
    # leaves the signal `accepted` with an execution whose order may be at the broker. It
    # must not run again from the start (a second entry).
    clock = FakeClock()
    async with session_factory() as s:
        rows = await cut_off(s, clock, b"buy MNQ1!")
        rows.signal.status = "accepted"
        call = rows.broker_call
        call.outcome, call.endpoint, call.request = "ok", "place_bracket", {"step": "1/1"}
        await s.commit()
        trader_id, signal_id = rows.trader.id, rows.signal.id
    [job] = await restart(session_factory, clock)
    assert job.skip_traders == {trader_id} and job.prior == ("done",)
    async with session_factory() as s:
        signal = await s.get(Signal, signal_id)
        assert signal is not None and signal.status == "executing"


async def test_a_trader_whose_orders_never_reached_the_broker_runs_again_after_two_restarts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    async with session_factory() as s:
        rows = await cut_off(s, clock, b"buy MNQ1!")
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
        rows = await cut_off(s, clock, b"sell MNQ1!")
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


async def test_a_reversal_whose_entry_never_reached_the_broker_resumes_too(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from justtrades.models import BrokerCall

    clock = FakeClock()
    async with session_factory() as s:
        rows = await cut_off(s, clock, b"sell MNQ1!")
        call = rows.broker_call  # the flatten is done; the entry was found not at the broker
        call.outcome, call.endpoint, call.request = "ok", "flatten", {"step": "1/2"}
        s.add(
            BrokerCall(
                execution_id=rows.execution.id,
                seq=call.seq + 2,
                endpoint="place_bracket",
                client_order_id="jt-x",
                request={"step": "2/2"},
                outcome="failed",
                error="not at the broker after a restart",
            )
        )
        await s.commit()
    [job] = await restart(session_factory, clock)
    assert job.skip_traders == frozenset()  # its trader runs again from the position


async def test_a_plan_cut_off_is_not_superseded_when_its_signal_is_too_old_to_resume(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    async with session_factory() as s:
        rows = await cut_off(s, clock, b"sell MNQ1!")
        call = rows.broker_call
        call.outcome, call.endpoint, call.request = "ok", "flatten", {"step": "1/2"}
        await s.commit()
        execution_id, signal_id = rows.execution.id, rows.signal.id
    clock.advance(60)
    assert await restart(session_factory, clock) == []
    async with session_factory() as s:
        execution = await s.get(Execution, execution_id)
        signal = await s.get(Signal, signal_id)
    assert execution is not None and signal is not None
    assert execution.status == "failed" and "1 of 2" in (execution.error or "")
    assert execution.result != "superseded by a re-run after a restart"
    assert signal.status == "interrupted"  # something happened at the broker: not "expired"


async def test_a_restart_never_turns_an_unknown_outcome_into_never_placed(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A live process left a call unknown after its own look-ups; a restart that does not
    find the order either must not call it never placed (found by review): only a call still
    `sent`, whose sender is gone, is judged so."""
    from justtrades.execution.lookups import NOT_AT_BROKER
    from justtrades.execution.settle import settle_at_restart
    from justtrades.models import BrokerCall

    class Empty:
        async def find_order(self, account_id: str, client_order_id: str) -> None:
            return None

    clock = FakeClock()
    async with session_factory() as s:
        rows = await add_user_rows(s)
        rows.signal.status = "executing"
        rows.execution.status = "running"
        first = rows.broker_call
        first.outcome, first.endpoint, first.client_order_id = "unknown", "place_bracket", "jt-u"
        second = BrokerCall(
            execution_id=rows.execution.id,
            seq=first.seq + 1,
            endpoint="place_order",
            client_order_id="jt-s",
            outcome="sent",
        )
        s.add(second)
        await s.commit()
        ids = first.id, second.id
    await settle_at_restart(session_factory, Serving(Empty()), clock)  # type: ignore[arg-type]
    async with session_factory() as s:
        unknown = await s.get(BrokerCall, ids[0])
        sent = await s.get(BrokerCall, ids[1])
    assert unknown is not None and unknown.outcome == "unknown"
    assert sent is not None and sent.outcome == "failed" and sent.error == NOT_AT_BROKER
    assert 5.0 in clock.sleeps  # judged only once the broker has had the time


@pytest.mark.parametrize(("now_net", "outcome"), [(0, "ok"), (3, "failed"), (1, "unknown")])
async def test_a_flatten_cut_off_is_judged_from_the_position_its_record_says_it_closed(
    session_factory: async_sessionmaker[AsyncSession], now_net: int, outcome: str
) -> None:
    """The read before a flatten is written after the flatten's record (records.py), so the
    record carries `net_pos_before` itself; the signal may still be `accepted` (its mark comes
    after that record too). Flat now: done; exactly as before: not done; else unknown."""
    from justtrades.brokers.base import Position
    from justtrades.execution.settle import settle_at_restart
    from justtrades.models import BrokerCall

    class Broker:
        async def get_position(self, account_id: str, symbol: str) -> Position:
            return Position(account_id, symbol, now_net, Decimal(0))

    clock = FakeClock()
    async with session_factory() as s:
        rows = await add_user_rows(s)
        rows.signal.status = "accepted"
        rows.execution.status = "running"
        call = rows.broker_call
        call.outcome, call.endpoint, call.client_order_id = "sent", "flatten", None
        call.request = {"symbol": "MNQZ6", "net_pos_before": 3}
        await s.commit()
        call_id = call.id
    await settle_at_restart(session_factory, Serving(Broker()), clock)  # type: ignore[arg-type]
    async with session_factory() as s:
        settled = await s.get(BrokerCall, call_id)
    assert settled is not None and settled.outcome == outcome
