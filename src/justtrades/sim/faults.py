"""Injected faults: latency, HTTP 5xx, HTTP 429, penalty tickets, rejections, token expiry.

Rates are fractions of requests to the Tradovate surface (never the control API), drawn from a
generator seeded with the simulator's seed, so a run with the same requests is reproducible.
A 5xx, 429 or penalty answer means the request was NOT processed, unless
`error_after_processing` is set, in which case a 5xx is returned after the exchange has acted:
the client cannot tell which, exactly like a lost response from a real server.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0, ge=0, le=60_000)
    jitter_ms: float = Field(0, ge=0, le=60_000)
    error_rate: float = Field(0, ge=0, le=1)
    error_after_processing: bool = False
    http_429_rate: float = Field(0, ge=0, le=1)
    penalty_rate: float = Field(0, ge=0, le=1)
    penalty_secs: float = Field(1, ge=0, le=3600)
    # Only these paths draw penalties (`auth/accesstokenrequest`: where Tradovate documents
    # p-tickets); every path when not set. Case-insensitive, without `/v1/`.
    penalty_paths: list[str] | None = Field(None, max_length=50)
    reject_reason: str | None = Field(None, min_length=1, max_length=64)
    expire_tokens: bool = False
    # WebSocket (sim/websocket.py): one-shot drop and shutdown; sockets kept open but silent;
    # upgrades refused with 429.
    ws_drop: bool = False
    ws_silent: bool = False
    ws_connect_429: bool = False
    ws_shutdown: str | None = Field(None, min_length=1, max_length=64)


@dataclass
class Verdict:
    delay_secs: float = 0.0
    status: int | None = None  # an HTTP error status to answer with
    after: bool = False  # answer with `status` after processing the request
    penalty: dict[str, object] | None = None


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed ^ 0x5EED)
        self.faults = Faults()
        self._tickets: dict[str, float] = {}  # ticket -> monotonic time it may be used

    def set(self, faults: Faults) -> None:
        self.faults = faults

    def decide(self, now: float, ticket: str | None, path: str = "") -> Verdict:
        f = self.faults
        v = Verdict()
        if f.latency_ms or f.jitter_ms:
            v.delay_secs = max(0.0, f.latency_ms + self.rng.uniform(-1, 1) * f.jitter_ms) / 1000
        if f.error_rate and self.rng.random() < f.error_rate:
            v.status, v.after = 500, f.error_after_processing
            return v
        if f.http_429_rate and self.rng.random() < f.http_429_rate:
            v.status = 429
            return v
        if ticket is not None and ticket in self._tickets:
            ready = self._tickets[ticket]
            if now >= ready:
                del self._tickets[ticket]
                return v
            v.penalty = self._penalty(now, ready - now)
            return v
        paths = f.penalty_paths
        in_scope = paths is None or path.lower() in {p.lower().strip("/") for p in paths}
        if f.penalty_rate and in_scope and self.rng.random() < f.penalty_rate:
            v.penalty = self._penalty(now, f.penalty_secs)
        return v

    def _penalty(self, now: float, wait_secs: float) -> dict[str, object]:
        if len(self._tickets) >= 10_000:  # tickets nobody came back with
            for old in [t for t, ready in self._tickets.items() if ready < now - 3600]:
                del self._tickets[old]
            while len(self._tickets) >= 10_000:
                del self._tickets[next(iter(self._tickets))]
        ticket = secrets.token_urlsafe(12)
        self._tickets[ticket] = now + wait_secs
        p_time: float = round(wait_secs, 3)
        if p_time == int(p_time):
            p_time = int(p_time)  # Tradovate sends whole seconds
        return {"p-ticket": ticket, "p-time": p_time, "p-captcha": False}
