"""Small test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from justtrades.clock import FakeClock

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout_secs: float = 5.0, every_secs: float = 0.02
) -> T:
    """Poll `probe` until it returns a truthy value; fail after `timeout_secs` (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_secs
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_secs} s (last: {value!r})")
        await asyncio.sleep(every_secs)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManualClock(FakeClock):
    """Time moves only with `advance`, and a `sleep` waits until it has moved that far: the
    timers of a live loop (heartbeats, watchdogs) run exactly when a test says."""

    def __init__(self) -> None:
        super().__init__()
        self._moved = asyncio.Condition()

    async def sleep(self, secs: float) -> None:
        wake = self.monotonic() + secs
        self.sleeps.append(secs)
        async with self._moved:
            await self._moved.wait_for(lambda: self.monotonic() >= wake)

    async def move(self, secs: float, step: float = 0.5) -> None:
        """Advances by `secs` in steps, letting every sleeper due at each step run."""
        left = secs
        while left > 0:
            self.advance(min(step, left))
            left -= step
            async with self._moved:
                self._moved.notify_all()
            for _ in range(5):
                await asyncio.sleep(0)
