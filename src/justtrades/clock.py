"""An injectable clock, so everything time-based can be tested without real sleeps."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""

    async def sleep(self, secs: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, secs: float) -> None:
        await asyncio.sleep(secs)


class FakeClock:
    """A clock that moves only when told to; `sleep` advances it instantly and records the wait."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, secs: float) -> None:
        self._now += timedelta(seconds=secs)
        self._mono += secs

    async def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.advance(secs)
        await asyncio.sleep(0)
