"""The streams' reconnect rules (SPEC §8) on a fake clock: backoff, the connect gate."""

from __future__ import annotations

import asyncio
import random

from justtrades.clock import FakeClock
from justtrades.streams.connection import Backoff, ConnectGate


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
