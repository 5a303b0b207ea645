"""Settlement at restart: every order-changing call a stopped process left `sent` or
`unknown` is looked up at the broker before anything else is decided for its account, and
recorded as what the broker shows.

- an order found by its client order id: `ok` (or `rejected` when the broker shows it
  Rejected / Canceled / Expired), with the order id and how it was found;
- an order the broker does not show, after successful look-ups: it never reached the broker
  (the process stopped between its write-ahead record and the request): `failed`, "not at the
  broker"; the trader can then be run again, nothing can be doubled;
- a flatten (no client order id): `ok` when the position is flat; `failed` when it is still
  open (the liquidation did not happen; a flatten means "be flat", so running its trader
  again from that position can never double it);
- a broker that cannot be asked: the call stays `unknown` and is reported in /status.

Recovery (recovery.py) runs after this, so it sees the settled outcomes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.admin import connection_spec
from justtrades.brokers.registry import BrokerRegistry
from justtrades.clock import Clock
from justtrades.execution.lookups import (
    RESTART_LOOKUP_DELAYS_SECS,
    RESTART_MIN_AGE_SECS,
    Settled,
    settle_flatten,
    settle_order,
)
from justtrades.logs import get_logger
from justtrades.models import Account, BrokerCall, BrokerConnection, Execution, Signal

log = get_logger("justtrades.settle")

READ_ENDPOINTS = ("get_position", "get_positions", "list_orders", "find_order", "list_fills")
# Waits before each look-up at restart: the old process is gone, what it sent has landed.


def order_calls_with_accounts() -> Any:
    """Order-changing calls with the account and connection to ask the broker about them
    (and their execution and signal, to filter on)."""
    return (
        select(BrokerCall, Account, BrokerConnection)
        .join(Execution, col(Execution.id) == col(BrokerCall.execution_id))
        .join(Signal, col(Signal.id) == col(Execution.signal_id))
        .join(Account, col(Account.id) == col(Execution.account_id))
        .join(BrokerConnection, col(BrokerConnection.id) == col(Account.connection_id))
        .where(col(BrokerCall.endpoint).not_in(READ_ENDPOINTS))
    )


async def settle_at_restart(
    sessions: async_sessionmaker[AsyncSession],
    registry: BrokerRegistry,
    clock: Clock,
    delays: tuple[float, ...] = RESTART_LOOKUP_DELAYS_SECS,
    timeout_secs: float = 20.0,
) -> int:
    """Settles every open call of executions cut off by a stop; all accounts at once.
    Returns how many calls it settled."""
    async with sessions() as s:
        rows = (
            await s.execute(
                order_calls_with_accounts()
                # accepted too: cut off before its `executing` mark was written
                .where(col(Signal.status).in_(["accepted", "executing"]))
                .where(col(BrokerCall.outcome).in_(["sent", "unknown"]))
            )
        ).all()
    if not rows:
        return 0

    async def before_flatten(call: BrokerCall) -> int | None:
        """The position its execution read just before the flatten (None: not known): on the
        flatten's own record, else the read recorded before it."""
        recorded = (call.request or {}).get("net_pos_before")
        if isinstance(recorded, int):
            return recorded
        async with sessions() as s:
            read = (
                await s.execute(
                    select(BrokerCall.response)
                    .where(BrokerCall.execution_id == call.execution_id)
                    .where(BrokerCall.endpoint == "get_position", BrokerCall.outcome == "ok")
                    .where(col(BrokerCall.seq) < call.seq)
                    .order_by(col(BrokerCall.seq).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        net = (read or {}).get("net_pos")
        return int(net) if isinstance(net, int) else None

    started = clock.monotonic()

    async def one(call: BrokerCall, account: Account, conn: BrokerConnection) -> bool:
        try:
            # The old process is gone: whatever it sent has reached the broker or never will,
            # once the broker has had the time to take it. Counted from this start, not from
            # the call (a request may have been in flight for a long time before the stop).
            waited = clock.monotonic() - started
            if waited < RESTART_MIN_AGE_SECS:
                await clock.sleep(RESTART_MIN_AGE_SECS - waited)
            broker = registry.get(connection_spec(conn))
            if call.client_order_id:
                found = await settle_order(
                    broker, account.broker_account_id, call.client_order_id, clock.sleep, delays
                )
            else:
                symbol = str((call.request or {}).get("symbol", ""))
                before = await before_flatten(call)
                found = await settle_flatten(broker, account.broker_account_id, symbol, before)
        except Exception:
            log.exception("settlement failed", call_id=call.id)
            found = None
        if found is not None and found.outcome == "failed" and call.outcome == "unknown":
            # The live process judged it unknown after its own look-ups: a restart's look-up
            # does not make it "never placed" (the late settler goes on looking).
            found = None
        if found is None:
            log.warning("outcome still unknown after a restart", call_id=call.id)
            if call.outcome == "sent":  # say so in the record: unknown, never silent
                found = Settled("unknown", None, "sent before a stop; not settled at restart")
            else:
                return False
        async with sessions() as s:
            await s.execute(
                update(BrokerCall)
                .where(col(BrokerCall.id) == call.id)
                .values(
                    outcome=found.outcome,
                    response=found.response,
                    error=found.error,
                    finished_at=clock.now(),
                )
            )
            await s.commit()
        log.info("settled at restart", call_id=call.id, outcome=found.outcome)
        return found.outcome != "unknown"

    tasks = [asyncio.ensure_future(one(c, a, k)) for c, a, k in rows]
    done, late = await asyncio.wait(tasks, timeout=timeout_secs)
    for task in late:  # bounded: what is not settled by then stays unknown, reported
        task.cancel()
    if late:
        await asyncio.wait(late)
        log.warning("settlement at restart timed out", unsettled=len(late))
        async with sessions() as s:  # never left `sent`: unknown, and why
            await s.execute(
                update(BrokerCall)
                .where(col(BrokerCall.id).in_([c.id for c, _, _ in rows]))
                .where(col(BrokerCall.outcome) == "sent")
                .values(outcome="unknown", error="sent before a stop; not settled at restart")
            )
            await s.commit()
    return sum(1 for t in done if not t.cancelled() and t.exception() is None and t.result())
