"""Small test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
