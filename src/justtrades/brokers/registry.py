"""Broker instances for stored connections: built once from the decrypted credentials and kept
while the connection is unchanged. One Tradovate client (token, rate-limit state) per
connection; HTTP connections pooled per base URL across all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from justtrades.brokers.base import Broker
from justtrades.brokers.metered import MeteredBroker, Observe
from justtrades.brokers.paper import PaperBroker
from justtrades.brokers.tradovate import (
    DEMO_URL,
    LIVE_URL,
    TradovateBroker,
    TradovateClient,
    TradovateCredentials,
)
from justtrades.brokers.tradovate.client import HttpPool
from justtrades.clock import Clock
from justtrades.crypto import SecretBox
from justtrades.sim.exchange import Exchange

BROKERS = ("tradovate", "paper")


def credentials_context(user_id: int) -> str:
    """Sealed credentials are bound to their owner and field."""
    return f"user:{user_id}:broker-credentials"


@dataclass(frozen=True)
class ConnectionSpec:
    """What the registry needs of a stored connection (plain values, no ORM object)."""

    id: int
    user_id: int
    broker: str
    environment: str
    base_url: str | None
    credentials_encrypted: str
    version: datetime | None = None  # updated_at: a change rebuilds the broker


def tradovate_url(environment: str, base_url: str | None) -> str:
    if environment == "live":
        return LIVE_URL
    if environment == "custom":
        if not base_url:
            raise ValueError("a custom environment needs base_url")
        return base_url.rstrip("/")
    return base_url.rstrip("/") if base_url else DEMO_URL


class BrokerRegistry:
    def __init__(
        self,
        box: SecretBox,
        clock: Clock,
        pool: HttpPool | None = None,
        observe: Observe | None = None,
    ) -> None:
        self.box = box
        self.clock = clock
        self.pool = pool or HttpPool()
        self.observe = observe
        self._brokers: dict[int, tuple[datetime | None, Broker]] = {}

    def build(self, spec: ConnectionSpec) -> Broker:
        """A broker for the connection; with `observe`, every call it makes is timed."""
        broker = self._build(spec)
        return broker if self.observe is None else MeteredBroker(broker, self.observe)

    def _build(self, spec: ConnectionSpec) -> Broker:
        creds: dict[str, Any] = self.box.open(
            spec.credentials_encrypted, credentials_context(spec.user_id)
        )
        if spec.broker == "tradovate":
            client = TradovateClient(
                TradovateCredentials(
                    username=str(creds.get("username", "")),
                    password=str(creds.get("password", "")),
                    app_id=str(creds.get("app_id") or "JustTrades"),
                    app_version=str(creds.get("app_version") or "0.1"),
                    cid=creds.get("cid") or 0,
                    sec=str(creds.get("sec") or ""),
                    device_id=creds.get("device_id"),
                ),
                tradovate_url(spec.environment, spec.base_url),
                clock=self.clock,
                pool=self.pool,
            )
            return TradovateBroker(client)
        if spec.broker == "paper":
            return PaperBroker(Exchange(self.clock, accounts=int(creds.get("accounts") or 3)))
        raise ValueError(f"unknown broker {spec.broker!r}")

    def get(self, spec: ConnectionSpec) -> Broker:
        found = self._brokers.get(spec.id)
        if found is not None and found[0] == spec.version:
            return found[1]
        broker = self.build(spec)
        self._brokers[spec.id] = (spec.version, broker)
        return broker

    def put(self, spec: ConnectionSpec, broker: Broker) -> None:
        """Keep a broker that was just built and connected (creating a connection)."""
        self._brokers[spec.id] = (spec.version, broker)

    def auth_state(self, connection_id: int) -> dict[str, Any] | None:
        """Whether the connection's broker is loaded and logged in, and until when (None: not
        loaded in this process yet)."""
        found = self._brokers.get(connection_id)
        if found is None:
            return None
        broker = found[1]
        inner = broker.inner if isinstance(broker, MeteredBroker) else broker
        if isinstance(inner, TradovateBroker):
            expires = inner.client.expires_at
            return {
                "authenticated": inner.client.access_token is not None,
                "token_expires_at": expires.isoformat() if expires else None,
            }
        return {"authenticated": True, "token_expires_at": None}

    def forget(self, connection_id: int) -> None:
        self._brokers.pop(connection_id, None)

    async def close(self) -> None:
        for _, broker in self._brokers.values():
            await broker.close()
        self._brokers.clear()
        await self.pool.aclose()
