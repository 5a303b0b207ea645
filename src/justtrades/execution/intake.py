"""The webhook's hot path: token -> cached strategy, parse, dedup, one INSERT, queue.

No broker call and no database read happens here: strategies are loaded once at start and kept
current by the API when they change; duplicates are found in a bounded in-memory window.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from justtrades.execution.settings import RiskSettings
from justtrades.execution.signal import SignalIntent


@dataclass(frozen=True)
class StrategyEntry:
    """What intake and dispatch need of a strategy (a plain value, safe to share)."""

    id: int
    user_id: int
    name: str
    token: str
    enabled: bool
    symbol: str
    settings: RiskSettings


class StrategyCache:
    def __init__(self) -> None:
        self._by_token: dict[str, StrategyEntry] = {}
        self._token_of: dict[int, str] = {}

    def put(self, entry: StrategyEntry) -> None:
        old = self._token_of.get(entry.id)
        if old is not None and old != entry.token:
            self._by_token.pop(old, None)
        self._by_token[entry.token] = entry
        self._token_of[entry.id] = entry.token

    def drop(self, strategy_id: int) -> None:
        token = self._token_of.pop(strategy_id, None)
        if token is not None:
            self._by_token.pop(token, None)

    def by_token(self, token: str) -> StrategyEntry | None:
        return self._by_token.get(token)

    def by_id(self, strategy_id: int) -> StrategyEntry | None:
        token = self._token_of.get(strategy_id)
        return None if token is None else self._by_token.get(token)

    def __len__(self) -> int:
        return len(self._by_token)


class Deduper:
    """(strategy, body) seen within `window_secs`: bounded by time and by count."""

    def __init__(self, window_secs: float, max_entries: int = 100_000) -> None:
        self.window_secs = window_secs
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[int, str], tuple[float, int]] = OrderedDict()

    def check(self, strategy_id: int, body_hash: str, now: float) -> int | None:
        """The id of the signal this one repeats, or None (then remember it via `add`)."""
        while self._seen:
            key, (at, _) = next(iter(self._seen.items()))
            if now - at <= self.window_secs and len(self._seen) <= self.max_entries:
                break
            del self._seen[key]
        found = self._seen.get((strategy_id, body_hash))
        return found[1] if found is not None else None

    def add(self, strategy_id: int, body_hash: str, now: float, signal_id: int) -> None:
        self._seen[(strategy_id, body_hash)] = (now, signal_id)
        self._seen.move_to_end((strategy_id, body_hash))


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body.strip()).hexdigest()


@dataclass(frozen=True)
class SignalJob:
    """An accepted signal on its way to the dispatcher."""

    signal_id: int
    strategy_id: int
    received_at: datetime
    intent: SignalIntent
    extra: dict[str, Any] = field(default_factory=dict)


class SignalQueue:
    """In-process FIFO of accepted signals. The signal row is the durable record: what is in
    this queue when the process dies is recovered from the database at the next start."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[SignalJob] = asyncio.Queue()

    def put(self, job: SignalJob) -> None:
        self._queue.put_nowait(job)

    async def get(self) -> SignalJob:
        return await self._queue.get()

    def task_done(self) -> None:
        self._queue.task_done()

    async def join(self) -> None:
        await self._queue.join()

    def qsize(self) -> int:
        return self._queue.qsize()
