"""A broker rate limit (HTTP 429) defers a signal that is still young enough until the cooldown
ends, and expires it with the reason otherwise: never "failed" at once. The clock's long waits
are held by the test, so the cooldown is deterministic."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from justtrades.clock import FakeClock
from justtrades.sim.runner import SimServer
from tests.helpers import eventually

from .conftest import Service

LONG_WAIT_SECS = 10  # waits this long or longer are held until released


class HeldClock(FakeClock):
    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.held: list[float] = []

    async def sleep(self, secs: float) -> None:
        if secs < LONG_WAIT_SECS:
            await super().sleep(secs)
            return
        wake = self.monotonic() + secs
        self.held.append(secs)
        await self.release.wait()
        self.sleeps.append(secs)
        if self.monotonic() < wake:  # sleepers released together wake at their own time
            self.advance(wake - self.monotonic())
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return HeldClock()


async def faults(sim: SimServer, **settings: float) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as control:
        await control.post("/_sim/faults", json=settings)


async def fire_into_a_cooldown(service: Service, sim: SimServer, clock: HeldClock) -> int:
    """Every request refused with 429: fire a buy, wait until each of the three traders is
    waiting out its connection's cooldown; the signal's id."""
    await faults(sim, http_429_rate=1.0)
    r = await service.fire({"action": "buy", "ticker": "MNQ1!"})

    async def waiting() -> bool:
        return len(clock.held) == 3

    await eventually(waiting)
    signal_id: int = r.json()["signal_id"]
    return signal_id


async def test_a_young_signal_waits_for_the_cooldown_then_trades(
    service: Service, sim: SimServer, clock: HeldClock
) -> None:
    signal_id = await fire_into_a_cooldown(service, sim, clock)
    assert clock.held == [15, 15, 15]  # each trader waits out the connection's 15 s
    assert (await service.signal(signal_id))["status"] == "executing"  # not failed
    await faults(sim)  # the broker takes requests again
    clock.release.set()
    done = await eventually(lambda: service.finished(signal_id))
    assert done["status"] == "done", done
    assert done["timings"]["first_order_sent_ms"] <= 30_000  # traded within its maximum age
    for execution in done["executions"]:
        outcomes = [c["outcome"] for c in execution["broker_calls"]]
        assert outcomes[0] == "failed" and outcomes[-1] == "ok"  # the refused read, recorded


async def test_a_signal_that_would_be_too_old_after_the_cooldown_expires_with_why(
    service: Service, sim: SimServer, clock: HeldClock
) -> None:
    signal_id = await fire_into_a_cooldown(service, sim, clock)
    clock.advance(20)  # while it waits, the signal ages: 20 s + another 30 s would be too old
    clock.release.set()
    done = await eventually(lambda: service.finished(signal_id))
    assert done["status"] == "expired", done
    for execution in done["executions"]:
        assert execution["status"] == "skipped"
        assert "cooling down" in execution["error"] and "maximum 30 s" in execution["error"]
