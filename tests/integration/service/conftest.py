"""The whole service over real sockets: the app (uvicorn, lifespan on) and the Tradovate
simulator, on SQLite and on PostgreSQL (the `database_url` fixture runs every test on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from justtrades.app import create_app
from justtrades.clock import FakeClock
from justtrades.config import Settings
from justtrades.sim.exchange import Exchange
from justtrades.sim.runner import SimServer
from justtrades.sim.server import create_sim_app

DEMO_STRATEGY: dict[str, Any] = {
    "name": "Demo MNQ",
    "symbol": "MNQ1!",
    "settings": {
        "initial_position_size": 1,
        "tp_targets": [{"ticks": 40, "trim": 100}],
        "trim_units": "percent",
        "sl_enabled": True,
        "sl_amount": 20,
    },
}


@dataclass
class Service:
    """A running service with a user, a key, a connection to the simulator, a strategy and a
    trader on each account (multipliers 1, 2, 3)."""

    base_url: str
    http: httpx.AsyncClient  # authenticated with the API key
    key: str
    strategy: dict[str, Any]
    accounts: list[dict[str, Any]]
    traders: list[dict[str, Any]] = field(default_factory=list)
    server: SimServer | None = None
    strategy_owner: int = 0
    _fired: dict[str, int] = field(default_factory=dict)

    @property
    def webhook(self) -> str:
        return str(self.strategy["webhook_url"])

    async def fire(self, body: str | dict[str, Any]) -> httpx.Response:
        if isinstance(body, dict):
            return await self.http.post(self.webhook, json=body)
        return await self.http.post(self.webhook, content=body.encode())

    async def signal(self, signal_id: int) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/signals/{signal_id}")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    async def finished(self, signal_id: int) -> dict[str, Any] | None:
        data = await self.signal(signal_id)
        done = data["status"] not in ("accepted", "executing")
        return data if done else None

    async def finished_fire(self, body: str) -> dict[str, Any] | None:
        """Fire once (remembered), then report the signal when it is finished."""
        if body not in self._fired:
            r = await self.fire(body)
            assert r.status_code == 200, r.text
            self._fired[body] = r.json()["signal_id"]
        return await self.finished(self._fired[body])

    async def link(self, sim: SimServer, name: str) -> dict[str, Any]:
        """Link another simulator (another broker endpoint); its one account."""
        r = await self.http.post(
            "/api/v1/connections",
            json={
                "broker": "tradovate",
                "name": name,
                "environment": "custom",
                "base_url": sim.api_url,
                "username": "demo",
                "password": "demo",
            },
        )
        assert r.status_code == 201, r.text
        [account] = r.json()["accounts"]
        return dict(account)

    async def bind(self, account: dict[str, Any], strategy_id: int | None = None) -> None:
        """A trader for `account` on the strategy (the service's own by default)."""
        r = await self.http.post(
            "/api/v1/traders",
            json={"strategy_id": strategy_id or self.strategy["id"], "account_id": account["id"]},
        )
        assert r.status_code == 201, r.text

    async def positions(self) -> dict[int, dict[str, Any]]:
        r = await self.http.get("/api/v1/positions")
        r.raise_for_status()
        return {p["account_id"]: p for p in r.json()["positions"] if p["net_pos"]}


async def seed_user(settings: Settings, clock: FakeClock) -> tuple[str, int]:
    from justtrades.admin import create_api_key, create_user
    from justtrades.models.db import create_engine, session_factory

    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as s:
            user = await create_user(s, clock, "trader@example.com", "a-good-password")
            key = await create_api_key(s, clock, user, "tests")
            await s.commit()
            assert user.id is not None
            return key, user.id
    finally:
        await engine.dispose()


async def start_service(
    database_url: str, clock: FakeClock, **settings: Any
) -> tuple[SimServer, Settings]:
    s = Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        custom_broker_urls=["http://127.0.0.1"],
        **settings,
    )
    app = create_app(s, clock=clock)
    server = SimServer(app, lifespan="on")
    await server.start()
    s.public_url = server.base_url
    return server, s


@pytest.fixture
async def service(database_url: str, clock: FakeClock, sim: SimServer) -> AsyncIterator[Service]:
    settings = Settings(database_url=database_url, secret_key="test-secret-key")
    key, user_id = await seed_user(settings, clock)
    server, settings = await start_service(database_url, clock)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as http:
        r = await http.post(
            "/api/v1/connections",
            json={
                "broker": "tradovate",
                "name": "sim",
                "environment": "custom",
                "base_url": sim.api_url,
                "username": "demo",
                "password": "demo",
            },
        )
        assert r.status_code == 201, r.text
        accounts = r.json()["accounts"]
        r = await http.post("/api/v1/strategies", json=DEMO_STRATEGY)
        assert r.status_code == 201, r.text
        svc = Service(
            server.base_url, http, key, r.json(), accounts, server=server, strategy_owner=user_id
        )
        for multiplier, account in enumerate(accounts, 1):
            r = await http.post(
                "/api/v1/traders",
                json={
                    "strategy_id": svc.strategy["id"],
                    "account_id": account["id"],
                    "multiplier": str(Decimal(multiplier)),
                },
            )
            assert r.status_code == 201, r.text
            svc.traders.append(r.json())
        yield svc
    await server.stop()


@pytest.fixture
async def other_sim(clock: FakeClock) -> AsyncIterator[SimServer]:
    """A second, independent Tradovate simulator (another broker endpoint)."""
    async with SimServer(create_sim_app(Exchange(clock, seed=2, accounts=1))) as server:
        yield server
