"""The webhook's hot path: token -> cached strategy, parse, dedup, one INSERT, queue.

No broker call and no database read happens here: strategies are loaded once at start and kept
current by the API when they change; duplicates are found in a bounded in-memory window.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict, deque
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

    @property
    def active(self) -> bool:
        """Takes signals: enabled, and not switched off through its settings."""
        return self.enabled and self.settings.enabled is not False


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
        if found is None or now - found[0] > self.window_secs:
            return None
        return found[1]

    def add(self, strategy_id: int, body_hash: str, now: float, signal_id: int) -> None:
        """Remember a body (signal_id 0: its row is still being written)."""
        self._seen[(strategy_id, body_hash)] = (now, signal_id)
        self._seen.move_to_end((strategy_id, body_hash))

    def forget(self, strategy_id: int, body_hash: str) -> None:
        self._seen.pop((strategy_id, body_hash), None)


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
    stages: dict[str, float] = field(default_factory=dict)  # ms since receipt: stored
    # Recovered after a restart: traders that had already sent orders for it (not re-run).
    skip_traders: frozenset[int] = frozenset()
    skip_accounts: frozenset[int] = frozenset()  # and their accounts, whatever trader now
    prior: tuple[str, ...] = ()  # the statuses those traders' executions ended with
    resumed: bool = False  # some trader's plan was cut off part way: it runs again


class SignalQueue:
    """Accepted signals in ARRIVAL order. A webhook reserves its place synchronously, before it
    awaits the database, and fills it after: the dispatcher takes places in order, so a signal
    whose INSERT finished first never overtakes one that arrived before it. The signal row is
    the durable record: what is here when the process dies is recovered at the next start."""

    def __init__(self) -> None:
        self._slots: deque[asyncio.Future[SignalJob | None]] = deque()
        self._changed = asyncio.Event()

    def reserve(self) -> asyncio.Future[SignalJob | None]:
        """A place in line; set its result to the job, or to None to give the place up."""
        slot: asyncio.Future[SignalJob | None] = asyncio.get_running_loop().create_future()
        self._slots.append(slot)
        self._changed.set()
        return slot

    def put(self, job: SignalJob) -> None:
        self.reserve().set_result(job)

    async def get(self) -> SignalJob:
        while True:
            while not self._slots:
                self._changed.clear()
                await self._changed.wait()
            job = await asyncio.shield(self._slots[0])
            self._slots.popleft()
            if job is not None:
                return job

    def qsize(self) -> int:
        return len(self._slots)
