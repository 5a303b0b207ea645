"""The streams' reconnect rules (SPEC §8) on a fake clock: backoff, the connect gate."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from justtrades.clock import FakeClock
from justtrades.streams.connection import Backoff, ConnectGate, StreamConnection
from justtrades.streams.socket import SocketClosed, SocketError, TradovateSocket


def test_backoff_doubles_from_one_second_to_sixty_with_at_most_ten_percent_jitter() -> None:
    rng = random.Random(7)
    b = Backoff()
    waits = [b.next(rng) for _ in range(9)]
    for wait, base in zip(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60], strict=True):
        assert base <= wait <= base * 1.10
    b.healthy()  # a connection that lived: the next failure starts at 1 s again
    assert 1 <= b.next(rng) <= 1.1


def test_after_a_dead_subscription_never_less_than_thirty_seconds_and_never_reset() -> None:
    rng = random.Random(3)
    b = Backoff()
    b.dead_subscription()
    waits = [b.next(rng) for _ in range(50)]
    b.healthy()
    waits.append(b.next(rng))
    assert all(30 <= w <= 45 for w in waits)
    assert max(waits) - min(waits) > 5  # the jitter spreads them


async def test_the_gate_lets_two_connect_at_a_time_three_seconds_apart() -> None:
    clock = FakeClock()
    gate = ConnectGate(clock)
    inside = 0
    most = 0

    async def connect() -> None:
        nonlocal inside, most
        async with gate:
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)  # the connect itself (real time: the clock stands)
            inside -= 1

    await asyncio.gather(*(connect() for _ in range(10)))
    assert most <= 2
    gaps = [b - a for a, b in zip(gate.starts, gate.starts[1:], strict=False)]
    assert len(gate.starts) == 10 and all(g >= 3.0 for g in gaps)


class FakeSocket:
    """A socket that is ready at once and whose sync answer arrives after an event."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []
        self.ready = asyncio.Event()
        self.last_frame_at: float | None = None
        self.stop = asyncio.Event()

    async def run(self) -> None:
        self.ready.set()
        await self.stop.wait()
        raise SocketClosed(1000, "over")

    async def request(self, endpoint: str, body: Any = None) -> tuple[int, Any]:
        assert endpoint == "user/syncrequest" and body["splitResponses"] is True
        for listener in self.listeners:  # an event read before the snapshot was handed over
            listener({"e": "props", "d": {"entityType": "fill"}})
        return 200, {"users": [{"id": 1}]}


async def test_events_that_come_before_the_snapshot_is_handed_over_wait_for_it() -> None:
    clock = FakeClock()
    sock = FakeSocket()

    async def body() -> dict[str, Any]:
        return {"users": [1]}

    conn = StreamConnection(
        "t",
        lambda: sock,
        body,
        clock,
        ConnectGate(clock),
        random.Random(1),  # type: ignore[arg-type, return-value]
    )
    seen: list[str] = []
    conn.on_sync.append(lambda snapshot: seen.append("snapshot"))
    conn.on_event.append(lambda event: seen.append(event["d"]["entityType"]))
    task = asyncio.create_task(conn.run())
    for _ in range(50):
        await asyncio.sleep(0)
    assert seen == ["snapshot", "fill"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert conn.state == "stopped"


async def test_a_frame_that_cannot_be_read_ends_the_socket_with_a_reason() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from justtrades.clock import SystemClock

    async def broken(ws: ServerConnection) -> None:
        await ws.send("o")
        await ws.recv()  # authorize
        await ws.send("a[{not json")
        await asyncio.sleep(5)

    async with serve(broken, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]

        async def token() -> str:
            return "t"

        sock = TradovateSocket(f"ws://127.0.0.1:{port}/", token, SystemClock())
        with pytest.raises(SocketError) as why:
            await asyncio.wait_for(sock.run(), 5)
    assert "JSONDecodeError" in str(why.value)


class QuietSocket(FakeSocket):
    """Connects and syncs, then nothing: no event ever."""

    async def request(self, endpoint: str, body: Any = None) -> tuple[int, Any]:
        return 200, {"users": [{"id": 1}]}


async def test_a_silent_subscription_is_dead_only_after_ten_windows_with_the_market_open() -> None:
    clock = FakeClock()

    async def body() -> dict[str, Any]:
        return {"users": [1]}

    def connection(market_open: bool) -> StreamConnection:
        return StreamConnection(
            "md",
            QuietSocket,  # type: ignore[arg-type]
            body,
            clock,
            ConnectGate(clock),
            random.Random(2),
            market_open=lambda: market_open,
            expect_events=True,
        )

    closed, open_ = connection(False), connection(True)
    tasks = [asyncio.create_task(c.run()) for c in (closed, open_)]
    for _ in range(300):
        await asyncio.sleep(0)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert closed.reconnects == 0 and not closed.backoff.after_dead  # market closed: no churn
    assert open_.reconnects >= 1 and open_.backoff.after_dead
    assert "dead subscription: no event for 10 windows" in (open_.last_error or "")
    waits = [w for w in clock.sleeps if w >= 30 and w != 30.0]
    assert waits and all(30 <= w <= 45 for w in waits)
