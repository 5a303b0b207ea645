"""Stream connections against the simulator over real sockets: the sync on every connect, a
drop followed by reconnect and resync, and 50 tokens dropped at once reconnecting through
the connect gate without a storm (SPEC §8)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justtrades.clock import SystemClock
from justtrades.sim.runner import SimServer
from justtrades.streams.connection import ConnectGate, StreamConnection
from justtrades.streams.socket import TradovateSocket
from tests.helpers import ManualClock, eventually

from .conftest import login


@pytest.fixture
async def fast_clock() -> AsyncIterator[ManualClock]:
    """The connections' clock, running about 100 times faster than real time (the sockets'
    own heartbeats run on real time)."""
    manual = ManualClock()

    async def tick() -> None:
        while True:
            await manual.move(0.5)
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    yield manual
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)


def connection(
    sim: SimServer, tokens: dict[str, Any], clock: ManualClock, gate: ConnectGate, seed: int
) -> StreamConnection:
    async def token() -> str:
        return str(tokens["accessToken"])

    async def body() -> dict[str, Any]:
        return {"users": [tokens["userId"]]}

    url = f"ws://{sim.host}:{sim.port}/v1/websocket"
    return StreamConnection(
        f"token-{seed}",
        lambda: TradovateSocket(url, token, SystemClock()),
        body,
        clock,
        gate,
        random.Random(seed),
        market_open=lambda: False,  # no trading here: silence is not a dead subscription
    )


async def test_a_drop_is_followed_by_a_reconnect_and_a_fresh_sync(
    sim: SimServer, http: httpx.AsyncClient, fast_clock: ManualClock
) -> None:
    clock = fast_clock
    conn = connection(sim, await login(http), clock, ConnectGate(clock), 1)
    syncs: list[dict[str, Any]] = []
    conn.on_sync.append(syncs.append)
    task = asyncio.create_task(conn.run())
    try:

        async def synced(n: int) -> bool:
            return len(syncs) >= n and conn.state == "connected"

        await eventually(lambda: synced(1))
        assert clock.sleeps[0] <= 30  # the boot stagger
        await http.post("/_sim/faults", json={"ws_drop": True})
        await eventually(lambda: synced(2))
        assert conn.reconnects == 1 and conn.connects == 2
        assert "1001" in (conn.last_error or "")
        assert any(1 <= w <= 1.1 for w in clock.sleeps)  # the first backoff
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_fifty_tokens_dropped_at_once_reconnect_without_a_storm(
    sim: SimServer, http: httpx.AsyncClient, fast_clock: ManualClock
) -> None:
    clock = fast_clock
    gate = ConnectGate(clock)
    conns = [connection(sim, await login(http), clock, gate, i) for i in range(50)]
    tasks = [asyncio.create_task(c.run()) for c in conns]
    try:

        async def all_connected(n: int) -> bool:
            return all(c.connects >= n and c.state == "connected" for c in conns)

        await eventually(lambda: all_connected(1), timeout_secs=30)
        await http.post("/_sim/faults", json={"ws_drop": True})
        await eventually(lambda: all_connected(2), timeout_secs=30)
        state = (await http.get("/_sim/state")).json()
        assert state["ws"]["connects"] == 100 and state["ws"]["open"] == 50  # once each
        gaps = [b - a for a, b in zip(gate.starts, gate.starts[1:], strict=False)]
        assert len(gate.starts) == 100 and min(gaps) >= 3.0  # 3 s apart on the clock
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
