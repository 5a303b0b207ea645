"""One lane per (account, symbol): work for the same account and symbol runs one at a time, in
the order tickets were taken; different lanes never wait for each other.

The dispatcher takes every ticket of a signal before it looks at the next signal, so arrival
order is kept even though each signal's trades then run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from types import TracebackType


class Ticket:
    def __init__(self, lanes: Lanes, key: Hashable, before: asyncio.Future[None] | None) -> None:
        self._lanes = lanes
        self._key = key
        self._before = before
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def __aenter__(self) -> Ticket:
        if self._before is not None:
            try:
                await asyncio.shield(self._before)
            except BaseException:
                # Cancelled while waiting: hand the turn on only when the one before is done.
                self._before.add_done_callback(lambda _: self.release())
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def release(self) -> None:
        """Let the next ticket of the lane go (also when this one is dropped unused)."""
        if not self.done.done():
            self.done.set_result(None)
        if self._lanes._tails.get(self._key) is self.done:
            del self._lanes._tails[self._key]


class Lanes:
    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    def ticket(self, key: Hashable) -> Ticket:
        """Synchronously take the next place in the lane `key`."""
        before = self._tails.get(key)
        ticket = Ticket(self, key, before)
        self._tails[key] = ticket.done
        return ticket

    def __len__(self) -> int:
        return len(self._tails)
