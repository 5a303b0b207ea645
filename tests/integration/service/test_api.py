"""The REST API: ownership, authentication, validation, and the webhook cache kept current."""

from __future__ import annotations

import httpx

from justtrades.clock import FakeClock
from justtrades.sim.runner import SimServer

from .conftest import Service


async def other_user(service: Service, clock: FakeClock, database_url: str) -> httpx.AsyncClient:
    from justtrades.admin import create_api_key, create_user
    from justtrades.models.db import create_engine, session_factory

    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as s:
            user = await create_user(s, clock, "other@example.com", "another-password")
            key = await create_api_key(s, clock, user)
            await s.commit()
    finally:
        await engine.dispose()
    return httpx.AsyncClient(base_url=service.base_url, headers={"Authorization": f"Bearer {key}"})


async def test_api_keys_are_required_and_checked(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        assert (await anonymous.get("/api/v1/strategies")).status_code == 401
        r = await anonymous.get(
            "/api/v1/strategies", headers={"Authorization": "Bearer jt_not-a-key"}
        )
        assert r.status_code == 401 and "unknown" in r.json()["detail"]


async def test_one_user_never_sees_or_touches_another_users_things(
    service: Service, clock: FakeClock, database_url: str
) -> None:
    strategy_id, account_id = service.strategy["id"], service.accounts[0]["id"]
    trader_id = service.traders[0]["id"]
    async with await other_user(service, clock, database_url) as other:
        assert (await other.get("/api/v1/strategies")).json() == []
        assert (await other.get("/api/v1/accounts")).json() == []
        assert (await other.get("/api/v1/traders")).json() == []
        assert (await other.get(f"/api/v1/strategies/{strategy_id}")).status_code == 404
        r = await other.patch(f"/api/v1/strategies/{strategy_id}", json={"enabled": False})
        assert r.status_code == 404
        assert (await other.delete(f"/api/v1/traders/{trader_id}")).status_code == 404
        # nor bind someone else's account to their own strategy
        mine = (await other.post("/api/v1/strategies", json={"name": "x"})).json()
        r = await other.post(
            "/api/v1/traders", json={"strategy_id": mine["id"], "account_id": account_id}
        )
        assert r.status_code == 404
        fired = (await service.fire("close")).json()["signal_id"]
        assert (await other.get(f"/api/v1/signals/{fired}")).status_code == 404
        assert (await other.get("/api/v1/positions")).json()["positions"] == []
    assert (await service.http.get(f"/api/v1/strategies/{strategy_id}")).json()["enabled"]


async def test_settings_are_validated_with_their_names(service: Service) -> None:
    r = await service.http.post(
        "/api/v1/strategies", json={"name": "bad", "settings": {"avg_down_enabled": True}}
    )
    assert r.status_code == 422 and "avg_down_enabled" in r.text
    r = await service.http.post(
        "/api/v1/strategies",
        json={"name": "bad", "settings": {"dca_enabled": True, "same_direction_ignore": True}},
    )
    assert r.status_code == 422
    r = await service.http.patch(
        f"/api/v1/traders/{service.traders[0]['id']}", json={"multiplier": 0}
    )
    assert r.status_code == 422
    r = await service.http.patch(
        f"/api/v1/traders/{service.traders[0]['id']}", json={"settings": {"max_contracts": 0}}
    )
    assert r.status_code == 200 and r.json()["settings"] == {"max_contracts": 0}


async def test_an_account_trades_a_strategy_once(service: Service) -> None:
    r = await service.http.post(
        "/api/v1/traders",
        json={"strategy_id": service.strategy["id"], "account_id": service.accounts[0]["id"]},
    )
    assert r.status_code == 409


async def test_the_webhook_follows_strategy_changes_at_once(service: Service) -> None:
    old = service.webhook
    sid = service.strategy["id"]
    r = await service.http.patch(f"/api/v1/strategies/{sid}", json={"enabled": False})
    assert r.json()["enabled"] is False
    ignored = await service.fire("buy")
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    r = await service.http.patch(
        f"/api/v1/strategies/{sid}", json={"enabled": True, "rotate_token": True}
    )
    new = r.json()["webhook_url"]
    assert new != old
    assert (await service.http.post(old, content=b"buy")).status_code == 404
    assert (await service.http.get(new)).status_code == 200
    assert (await service.http.delete(f"/api/v1/strategies/{sid}")).status_code == 204
    assert (await service.http.post(new, content=b"buy")).status_code == 404
    assert (await service.http.get("/api/v1/traders")).json() == []  # deleted with it


async def test_a_refused_login_links_nothing(service: Service, sim: SimServer) -> None:
    r = await service.http.post(
        "/api/v1/connections",
        json={
            "broker": "tradovate",
            "name": "bad",
            "environment": "custom",
            "base_url": sim.api_url,
            "username": "demo",
            "password": "wrong",
        },
    )
    assert r.status_code == 422 and "refused" in r.json()["detail"]
    names = [c["name"] for c in (await service.http.get("/api/v1/connections")).json()]
    assert names == ["sim"]


async def test_connections_never_show_credentials(service: Service) -> None:
    text = (await service.http.get("/api/v1/connections")).text
    assert "demo" in text  # the user name is shown
    assert "password" not in text and "credentials" not in text


async def test_openapi_and_monitoring(service: Service) -> None:
    spec = (await service.http.get("/openapi.json")).json()
    assert "/api/v1/strategies" in spec["paths"] and "/webhook/{token}" in spec["paths"]
    assert {"/health", "/status", "/metrics"} <= spec["paths"].keys()
    assert (await service.http.get("/docs")).status_code == 200
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        assert (await anonymous.get("/health")).json() == {"status": "ok"}
        status = (await anonymous.get("/status")).json()
    assert status["status"] == "ok" and status["database"]["ok"] is True
    assert status["workers"]["dispatcher_alive"] is True and status["queue_depth"] == 0


async def test_signals_are_listed_in_arrival_order_not_id_order(
    service: Service, clock: FakeClock
) -> None:
    from datetime import timedelta

    from justtrades.app import Services
    from justtrades.models import Signal

    assert service.server is not None
    svc: Services = service.server.app.state.services
    arrived = clock.now()
    rows = [  # the INSERT of the later arrival finished first (as PostgreSQL may do)
        Signal(
            user_id=service.strategy_owner,
            strategy_id=service.strategy["id"],
            received_at=arrived + timedelta(milliseconds=ms),
            body=name,
            body_hash=name,
            status="done",
        )
        for name, ms in [("second", 5), ("first", 1), ("third", 9)]
    ]
    async with svc.sessions() as s:
        for row in rows:
            s.add(row)
            await s.flush()
        await s.commit()
    listed = (await service.http.get("/api/v1/signals")).json()
    assert [r["body"] for r in listed] == ["third", "second", "first"]
