"""Carries out one trader's plan for one signal, recording every broker call.

An order-changing call's record is written (outcome "sent", with its client order id) BEFORE
the broker is asked, and completed after: a crash in between leaves a record that
reconciliation can settle by client order id, never a silent order. A failed step stops the
plan: nothing is entered after a close that did not happen.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from justtrades.brokers.base import (
    BracketRequest,
    Broker,
    BrokerError,
    BrokerUnavailable,
    OrderRejected,
    OrderRequest,
    RateLimited,
    UnknownOutcome,
    outcome_of,
)
from justtrades.execution.lookups import NOT_LIVE, flat_settler, order_settler
from justtrades.execution.planner import Enter, Flatten, Plan


class CallLog(Protocol):
    """Where broker calls are recorded (the database in the service, a list in tests)."""

    async def started(
        self, seq: int, endpoint: str, client_order_id: str | None, request: dict[str, Any]
    ) -> int: ...

    async def finished(
        self,
        call_id: int,
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
    ) -> None: ...

    async def read(
        self,
        seq: int,
        endpoint: str,
        request: dict[str, Any],
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
    ) -> None: ...


class PositionStillOpen(BrokerError):
    """The broker still shows a position that was just flattened: nothing more is sent."""


class FlatUnconfirmed(BrokerError):
    """The position could not be read to confirm a flatten (a rate-limit cooldown longer than
    the signal may wait): nothing more is sent."""


def _flat_check(confirm_flat: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[Any]]:
    async def check() -> dict[str, Any]:
        net = await confirm_flat()
        if net:
            raise PositionStillOpen(f"position still {net} after the flatten")
        return {"net_pos": net}

    return check


@dataclass
class StepResult:
    ok: bool
    outcome: str  # ok | rejected | unknown | failed
    detail: str = ""


@dataclass
class ExecutionResult:
    ok: bool
    summary: str
    steps: list[StepResult] = field(default_factory=list)


async def recorded(
    log: CallLog,
    seq: int,
    endpoint: str,
    client_order_id: str | None,
    request: dict[str, Any],
    call: Callable[[], Awaitable[dict[str, Any]]],
    *,
    read: bool = False,
    settle: Callable[[], Awaitable[dict[str, Any] | None]] | None = None,
) -> tuple[dict[str, Any] | None, BrokerError | None]:
    """Record, call, record: the one way any broker call of an execution is made. A `read`
    (it changes nothing at the broker) is recorded once, after it is done. When an
    order-changing call's outcome is unknown (a timeout, a 5xx), `settle` looks at what the
    broker shows: an answer means the order is there, and the call is recorded `ok` with it
    (and how it was found); None leaves it `unknown`. Never a second send."""
    if read:
        started = time.perf_counter()
        try:
            response = await call()
        except BrokerError as e:
            latency = (time.perf_counter() - started) * 1000
            error = f"{type(e).__name__}: {e}"
            await log.read(seq, endpoint, request, outcome_of(e), None, error, latency)
            return None, e
        latency = (time.perf_counter() - started) * 1000
        await log.read(seq, endpoint, request, "ok", response, None, latency)
        return response, None
    call_id = await log.started(seq, endpoint, client_order_id, request)
    started = time.perf_counter()
    try:
        response = await call()
    except BrokerError as e:
        error = f"{type(e).__name__}: {e}"
        if isinstance(e, UnknownOutcome) and settle is not None:
            try:
                found = await settle()
            except Exception:  # a look-up that broke: the outcome stays unknown, recorded
                found = None
            latency = (time.perf_counter() - started) * 1000
            if found is not None and found.get("absent"):
                # Not shown after several look-ups: most likely never placed, but a broker
                # may take a request late, so it stays unknown (settled late, never re-sent).
                shown = f"{error}; not found after {found.get('lookups')} look-ups"
                await log.finished(call_id, "unknown", None, shown, latency)
                return None, e
            if found is not None and found.get("status") in NOT_LIVE:
                shown = f"settled after {error}: the broker shows it {found['status']}"
                await log.finished(call_id, "rejected", found, shown, latency)
                return None, OrderRejected(str(found["status"]), shown)
            if found is not None:
                await log.finished(call_id, "ok", found, f"settled after {error}", latency)
                return found, None
            await log.finished(call_id, "unknown", None, f"{error}; not found", latency)
            return None, e
        latency = (time.perf_counter() - started) * 1000
        await log.finished(call_id, outcome_of(e), None, error, latency)
        return None, e
    latency = (time.perf_counter() - started) * 1000
    await log.finished(call_id, "ok", response, None, latency)
    return response, None


# Waits after each failed attempt of an idempotent read (5 more attempts, about 7 s).
READ_RETRY_DELAYS_SECS = (0.1, 0.3, 0.9, 2.0, 4.0)
TRANSIENT = (BrokerUnavailable, UnknownOutcome)  # a 5xx, a timeout, a refused connection


async def read_with_retries(
    log: CallLog,
    seq: int,
    endpoint: str,
    request: dict[str, Any],
    call: Callable[[], Awaitable[dict[str, Any]]],
    sleep: Callable[[float], Awaitable[None]],
    delays: tuple[float, ...] = READ_RETRY_DELAYS_SECS,
) -> tuple[dict[str, Any] | None, BrokerError | None, int]:
    """A read that changes nothing at the broker, tried again after a transient failure (at
    most len(delays) more times, waiting on the injected clock); every attempt is recorded
    under its own step number. Returns the answer or the last error, and the next step."""
    for delay in (*delays, None):
        response, error = await recorded(log, seq, endpoint, None, request, call, read=True)
        seq += 1
        if error is None or delay is None or not isinstance(error, TRANSIENT):
            return response, error, seq
        await sleep(delay)
    raise AssertionError("unreachable")


def _str(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


async def execute(
    plan: Plan,
    broker: Broker,
    account_id: str,
    log: CallLog,
    new_client_id: Callable[[int], str],
    reference_price: Decimal | None,
    first_seq: int = 1,
    confirm_flat: Callable[[], Awaitable[int]] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    may_resend: Callable[[RateLimited], Awaitable[bool]] | None = None,
    settle_flat: Callable[[], Awaitable[int]] | None = None,
) -> ExecutionResult:
    """Run the plan's steps in order; stop at the first failure. With `confirm_flat` (it
    returns the broker's position once flat, or after waiting long enough), an entry that
    follows a flatten is only sent once the broker shows the position closed: a liquidation
    acknowledged but not done must never leave the old position and the new one together.

    A step refused for a rate limit before it was sent (a cooling-down client sends nothing)
    may be sent again, under the next step number and a new client order id, when
    `may_resend` answers True (it waits out the cooldown, or answers False when the signal
    would be too old). A step the broker may have (sent, its answer lost, even when look-ups
    do not find it) is never sent again."""
    result = ExecutionResult(ok=True, summary=plan.note or "nothing to do")

    def settler(cid: str) -> Callable[[], Awaitable[dict[str, Any] | None]] | None:
        return None if sleep is None else order_settler(broker, account_id, cid, sleep)

    seq = first_seq - 1
    steps = len(plan.steps)
    i = 0
    while i < len(plan.steps):
        step = plan.steps[i]
        seq += 1
        if isinstance(step, Flatten):

            async def flatten() -> dict[str, Any]:
                ack = await broker.flatten(account_id, plan.symbol)
                return {"order_id": ack.order_id}

            _, error = await recorded(
                log,
                seq,
                "flatten",
                None,
                {"symbol": plan.symbol, "reason": step.reason, "step": f"{i + 1}/{steps}"},
                flatten,
                settle=flat_settler(settle_flat or confirm_flat),
            )
            entry_follows = any(isinstance(s, Enter) for s in plan.steps[i + 1 :])
            if error is None and entry_follows and confirm_flat is not None:
                seq += 1
                why = {"symbol": plan.symbol, "why": "confirm flat before the entry"}
                _, error = await recorded(
                    log, seq, "get_position", None, why, _flat_check(confirm_flat), read=True
                )
        else:
            assert isinstance(step, Enter)
            cid = new_client_id(seq)
            request: dict[str, Any] = {
                "symbol": plan.symbol,
                "side": step.side.value,
                "qty": step.qty,
                "step": f"{i + 1}/{steps}",  # which of the plan's steps (read at a restart)
            }
            if step.legs:
                request["legs"] = [
                    {
                        "qty": g.qty,
                        "take_profit": _str(g.take_profit),
                        "stop_loss": _str(g.stop_loss),
                        "trailing": g.trailing,
                        "trail_trigger": _str(g.trail_trigger),
                    }
                    for g in step.legs
                ]
                bracket = BracketRequest(
                    account_id,
                    plan.symbol,
                    step.side,
                    step.legs,
                    cid,
                    reference_price=reference_price,
                )

                async def place_bracket(req: BracketRequest = bracket) -> dict[str, Any]:
                    ack = await broker.place_bracket(req)
                    return {
                        "entry_order_id": ack.entry_order_id,
                        "strategy_id": ack.strategy_id,
                        "exit_order_ids": list(ack.exit_order_ids),
                    }

                _, error = await recorded(
                    log, seq, "place_bracket", cid, request, place_bracket, settle=settler(cid)
                )
            else:
                order = OrderRequest(account_id, plan.symbol, step.side, step.qty, cid)

                async def place_order(req: OrderRequest = order) -> dict[str, Any]:
                    ack = await broker.place_order(req)
                    return {"order_id": ack.order_id}

                _, error = await recorded(
                    log, seq, "place_order", cid, request, place_order, settle=settler(cid)
                )
        if isinstance(error, RateLimited) and may_resend is not None and await may_resend(error):
            continue  # the same step again, recorded under the next step number
        if error is not None:
            outcome = outcome_of(error)
            result.steps.append(StepResult(False, outcome, str(error)))
            result.ok = False
            result.summary = f"step {i + 1} ({step.describe()}) {outcome}: {error}"
            return result
        result.steps.append(StepResult(True, "ok", step.describe()))
        i += 1
    if plan.steps:
        result.summary = f"{plan.note}: " + "; ".join(s.detail for s in result.steps)
    return result
