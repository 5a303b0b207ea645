"""What a broker shows of an order whose answer was lost: looked up by its client order id
(a flatten, which carries none, by the position). Used while a plan runs (the executor), at a
restart (settle.py) and late (late.py). Nothing here ever sends an order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from justtrades.brokers.base import Broker, BrokerError, RateLimited
from justtrades.logs import get_logger

log = get_logger("justtrades.lookups")

# An order found in one of these states was not placed: the step failed, definitively.
NOT_LIVE = frozenset({"Rejected", "Canceled", "Cancelled", "Expired"})
# Waits before the look-ups of an order whose outcome is unknown (then 8 s apart), how many
# answered look-ups without it prove it absent, and the most a settlement waits in all.
SETTLE_DELAYS_SECS = (0.5, 1.0, 2.0, 4.0, 8.0)
SETTLE_ANSWERS = 5
SETTLE_BUDGET_SECS = 60.0
QUICK_RETRY_SECS = (0.2, 0.4, 0.8)  # after a look-up that failed, before the next delay


def order_settler(
    broker: Broker,
    account_id: str,
    client_order_id: str,
    sleep: Callable[[float], Awaitable[None]],
    delays: tuple[float, ...] = SETTLE_DELAYS_SECS,
    budget_secs: float = SETTLE_BUDGET_SECS,
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """Looks the order up by its client order id, after each delay (a broker may show an
    order a moment after it took it, and a look-up may fail: it is tried again, the last
    delay repeating), waiting out a rate-limit cooldown, within `budget_secs` in all (also
    in real time, look-ups included). Returns what the broker shows; {"absent": True} once
    SETTLE_ANSWERS look-ups answered without it (which does not prove it was never placed: a
    broker may take a request late); None when the broker could not tell in time."""

    async def settle() -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(budget_secs):
                return await _settle()
        except TimeoutError:
            return None

    async def _settle() -> dict[str, Any] | None:
        waited, answered, n, quick = 0.0, 0, 0, 0
        while True:
            delay = delays[min(n, len(delays) - 1)] if not quick else QUICK_RETRY_SECS[quick - 1]
            if waited + delay > budget_secs:
                return None
            await sleep(delay)
            waited += delay
            n += 1
            try:
                report = await broker.find_order(account_id, client_order_id)
            except RateLimited as e:
                if waited + e.retry_after_secs > budget_secs:
                    return None
                await sleep(e.retry_after_secs)
                waited += e.retry_after_secs
                n -= 1  # the same look-up again, after the cooldown
                continue
            except BrokerError:  # the look-up failed (a 5xx, a timeout): again soon, 3 times
                if quick < len(QUICK_RETRY_SECS):
                    quick += 1
                    n -= 1
                else:
                    quick = 0
                continue
            quick = 0
            answered += 1
            if report is not None:
                return {
                    "order_id": report.order_id,
                    "status": report.status,
                    "found_by": "client order id",
                }
            if answered >= min(SETTLE_ANSWERS, len(delays)):
                return {"absent": True, "lookups": answered}

    return settle


def flat_settler(
    confirm_flat: Callable[[], Awaitable[int]] | None,
) -> Callable[[], Awaitable[dict[str, Any] | None]] | None:
    """A flatten carries no client order id: its outcome is what the position shows."""
    if confirm_flat is None:
        return None

    async def settle() -> dict[str, Any] | None:
        try:
            net = await confirm_flat()
        except BrokerError:
            return None
        # Still open after the confirming reads proves nothing (a liquidation may be slow, and
        # a second one could reverse the position): the outcome stays unknown.
        return {"net_pos": 0, "found_by": "position"} if net == 0 else None

    return settle


RESTART_LOOKUP_DELAYS_SECS = (0.0, 0.5, 1.0)
# At a restart a call is judged only once this long after it was sent (the broker has had
# the time to take, fill or show what reached it).
RESTART_MIN_AGE_SECS = 5.0
NOT_AT_BROKER = "not at the broker after a restart (looked up by client order id): never placed"


@dataclass(frozen=True)
class Settled:
    outcome: str
    response: dict[str, Any] | None
    error: str | None


async def settle_order(
    broker: Broker,
    account_id: str,
    client_order_id: str,
    sleep: Callable[[float], Awaitable[None]],
    delays: tuple[float, ...] = RESTART_LOOKUP_DELAYS_SECS,
) -> Settled | None:
    """What the broker shows of one order; None when it could not be asked."""
    looked = False
    for delay in delays:
        await sleep(delay)
        try:
            report = await broker.find_order(account_id, client_order_id)
        except BrokerError as e:
            log.warning("look-up failed", client_order_id=client_order_id, error=str(e))
            continue
        looked = True
        if report is not None:
            found = {"order_id": report.order_id, "status": report.status}
            found["found_by"] = "client order id, at restart"
            if report.status in NOT_LIVE:
                return Settled("rejected", found, f"the broker shows it {report.status}")
            return Settled("ok", found, None)
    return Settled("failed", None, NOT_AT_BROKER) if looked else None


async def settle_flatten(
    broker: Broker, account_id: str, symbol: str, before: int | None = None
) -> Settled | None:
    """A flatten by the position: flat means it happened. At a restart (the sender is gone,
    and the caller waited RESTART_MIN_AGE_SECS since it was sent), a position exactly as it
    was read just before the flatten means it did not happen; anything else stays unknown."""
    try:
        position = await broker.get_position(account_id, symbol)
    except BrokerError:
        return None
    if position.net_pos == 0:
        return Settled("ok", {"net_pos": 0, "found_by": "position, at restart"}, None)
    if before is not None and position.net_pos == before:
        found = {"net_pos": position.net_pos, "found_by": "position, at restart"}
        why = f"the position is still {before}, as before it, after a restart: not done"
        return Settled("failed", found, why)
    return None
