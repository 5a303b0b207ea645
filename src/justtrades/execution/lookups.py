"""What a broker shows of an order whose answer was lost: looked up by its client order id
(a flatten, which carries none, by the position). Used while a plan runs (the executor), at a
restart (settle.py) and late (late.py). Nothing here ever sends an order."""

from __future__ import annotations

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


class NotPlaced(BrokerError):
    """Looked up by its client order id again and again, and the broker never showed it."""


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
    delay repeating), waiting out a rate-limit cooldown, within `budget_secs` in all.
    Returns what the broker shows; {"absent": True} once SETTLE_ANSWERS look-ups answered
    without it; None when the broker could not tell in time."""

    async def settle() -> dict[str, Any] | None:
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
        if net == 0:
            return {"net_pos": 0, "found_by": "position"}
        # Still open after the confirming reads: the liquidation did not happen (a flatten
        # means "be flat": nothing was doubled, and the plan stops here).
        return {"absent": True, "why": f"the position is still {net}: the flatten did not happen"}

    return settle


RESTART_LOOKUP_DELAYS_SECS = (0.0, 0.5, 1.0)
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


async def settle_flatten(broker: Broker, account_id: str, symbol: str) -> Settled | None:
    try:
        position = await broker.get_position(account_id, symbol)
    except BrokerError:
        return None
    if position.net_pos == 0:
        return Settled("ok", {"net_pos": 0, "found_by": "position, at restart"}, None)
    # Still open, seconds after the old process sent it: the liquidation did not happen. A
    # flatten's effect is "be flat", so the trader may run again from this position.
    found = {"net_pos": position.net_pos, "found_by": "position, at restart"}
    return Settled("failed", found, "the position is still open after a restart: not done")
