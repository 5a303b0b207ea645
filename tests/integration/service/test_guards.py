"""What must never happen: a duplicate traded twice, a disabled trader traded, a 500 on odd
input, a webhook answering "accepted" with nobody to execute it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlmodel import select

from justtrades.app import Services
from justtrades.clock import FakeClock
from justtrades.models import Execution, Signal
from justtrades.sim.runner import SimServer
from tests.helpers import eventually

from .conftest import Service


async def test_two_identical_alerts_at_the_same_moment_trade_once(service: Service) -> None:
    body = {"action": "buy", "ticker": "MNQ1!", "comment": "same"}
    a, b = await asyncio.gather(service.fire(body), service.fire(body))
    statuses = sorted([a.json()["status"], b.json()["status"]])
    assert statuses == ["accepted", "duplicate"]
    accepted = a if a.json()["status"] == "accepted" else b
    await eventually(lambda: service.finished(accepted.json()["signal_id"]))
    positions = await service.positions()
    assert sorted(p["net_pos"] for p in positions.values()) == [1, 2, 3]


async def test_a_trader_disabled_through_its_settings_is_not_traded(service: Service) -> None:
    first = service.traders[0]
    r = await service.http.patch(
        f"/api/v1/traders/{first['id']}", json={"settings": {"enabled": False}}
    )
    assert r.status_code == 200
    signal = await eventually(lambda: service.finished_fire("buy MNQ1!"))
    assert {e["account_id"] for e in signal["executions"]} == {
        a["id"] for a in service.accounts[1:]
    }
    positions = await service.positions()
    assert first["account_id"] not in positions


@pytest.mark.parametrize(
    "body", [b"buy MNQ1! comment=a\x00b", b'{"action":"buy","comment":"a\\u0000b"}', b"hold\x00"]
)
async def test_nul_characters_are_a_4xx_never_a_500(service: Service, body: bytes) -> None:
    r = await service.http.post(service.webhook, content=body)
    assert r.status_code == 422, r.text
    assert (await service.signal(r.json()["signal_id"]))["status"] == "rejected"


@pytest.mark.parametrize(
    "body",
    [
        b'{"action":"bu\\ud800y","ticker":"MNQ1!"}',  # an escaped lone surrogate
        b'{"action":"buy","ticker":"MNQ1!","comment":"\\udfff"}',
        b'{"action":"\\ud83d","ticker":"MNQ1!"}',
        b"\xff\xfe buy MNQ1!",  # not UTF-8
        b'{"action":"buy","ticker":"\\ud800"}',
    ],
)
async def test_unencodable_text_is_a_4xx_or_a_trade_never_a_500(
    service: Service, body: bytes
) -> None:
    r = await service.http.post(service.webhook, content=body)
    assert r.status_code in (200, 422), r.text
    signal = await service.signal(r.json()["signal_id"])  # stored, and readable back
    assert signal["status"] in ("rejected", "accepted", "executing", "done", "failed")


async def test_an_oversized_body_is_refused_before_it_is_read(service: Service) -> None:
    r = await service.http.post(service.webhook, content=b"x" * 70_000)
    assert r.status_code == 413


async def test_ids_out_of_range_are_4xx(service: Service) -> None:
    for path in (
        "/api/v1/strategies/99999999999999999999",
        "/api/v1/signals/3000000000",
        "/api/v1/signals?strategy_id=99999999999",
    ):
        assert (await service.http.get(path)).status_code == 422, path
    r = await service.http.post("/api/v1/traders", json={"strategy_id": 2**40, "account_id": 1})
    assert r.status_code == 422
    for body in ({"name": "a\x00b"}, {"name": "ok", "symbol": "MN\x00Q"}):
        r = await service.http.post("/api/v1/strategies", json=body)
        assert r.status_code == 422, body


async def test_broker_urls_outside_the_allowed_prefixes_are_refused(service: Service) -> None:
    r = await service.http.post(
        "/api/v1/connections",
        json={
            "broker": "tradovate",
            "name": "internal",
            "environment": "custom",
            "base_url": "http://10.1.2.3:5432/v1",
            "username": "u",
            "password": "p",
        },
    )
    assert r.status_code == 422 and "JT_CUSTOM_BROKER_URLS" in r.json()["detail"]


async def test_with_the_dispatcher_down_the_webhook_says_retry(service: Service) -> None:
    assert service.server is not None
    svc: Services = service.server.app.state.services
    await svc.engine.stop()
    r = await service.fire("buy MNQ1!")
    assert r.status_code == 503  # TradingView retries a 5xx; an "accepted" would be a lie
    async with httpx.AsyncClient(base_url=service.base_url) as anonymous:
        status = await anonymous.get("/status")
    assert status.status_code == 503 and status.json()["workers"]["dispatcher_alive"] is False
    assert status.json()["workers"]["dispatcher"] == "stopped"


async def slow_strategy(service: Service, sim: SimServer, latency_ms: int) -> dict[str, Any]:
    """A new strategy traded on `sim`'s one account, whose broker answers after latency_ms."""
    slow = await service.link(sim, "slow")
    strategy: dict[str, Any] = (
        await service.http.post("/api/v1/strategies", json={"name": "slow one"})
    ).json()
    await service.bind(slow, strategy["id"])
    async with httpx.AsyncClient(base_url=sim.base_url) as control:
        await control.post("/_sim/faults", json={"latency_ms": latency_ms})
    return strategy


async def test_a_signal_that_grows_stale_while_waiting_for_its_lane_expires(
    service: Service, other_sim: SimServer, clock: FakeClock
) -> None:
    strategy = await slow_strategy(service, other_sim, 800)
    first = (await service.http.post(strategy["webhook_url"], content=b"buy MNQ1!")).json()
    second = (await service.http.post(strategy["webhook_url"], content=b"close")).json()
    await asyncio.sleep(0.3)  # the first holds the lane, waiting for its slow broker
    clock.advance(40)  # meanwhile the second grows older than the 30 s maximum
    done = await eventually(lambda: service.finished(second["signal_id"]), timeout_secs=10)
    assert done["status"] == "expired"
    [execution] = done["executions"]
    assert execution["status"] == "skipped" and "expired" in execution["error"]
    assert execution["broker_calls"] == []
    # the first read its position while the clock moved 40 s: too old to trade by then
    held = await eventually(lambda: service.finished(first["signal_id"]), timeout_secs=10)
    assert held["status"] == "expired"
    [late] = held["executions"]
    assert late["status"] == "skipped" and "reading the position" in late["error"]
    assert all(c["endpoint"] == "get_position" for c in late["broker_calls"])  # no order


def test_the_drain_timeout_setting_reaches_the_supervisor(tmp_path: object) -> None:
    from justtrades.app import build_services
    from justtrades.config import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        secret_key="k",
        drain_timeout_secs=7,
    )
    assert build_services(settings).tasks.drain_timeout_secs == 7


@pytest.mark.parametrize(("drain_secs", "finished"), [(0.1, False), (5.0, True)])
async def test_a_signal_executing_at_shutdown_finishes_within_the_drain(
    service: Service, other_sim: SimServer, drain_secs: float, finished: bool
) -> None:
    strategy = await slow_strategy(service, other_sim, 400)
    fired = (await service.http.post(strategy["webhook_url"], content=b"buy MNQ1!")).json()
    assert service.server is not None
    svc: Services = service.server.app.state.services

    async def executing() -> bool:
        # dispatched, and shown executing (50 ms after its lane turn, while its slow read runs)
        shown = (await service.signal(fired["signal_id"]))["status"] == "executing"
        return len(svc.engine.running) == 1 and shown

    await eventually(executing)
    svc.tasks.drain_timeout_secs = drain_secs
    await svc.engine.stop()  # what the lifespan does first at shutdown
    async with svc.sessions() as s:
        row = await s.get(Signal, fired["signal_id"])
    assert row is not None
    assert (row.status == "done") is finished, row.status
    if not finished:
        # Cut off while reading its slow position: shown executing, its execution running
        # with no order sent (written 50 ms after its lane turn): the next start runs it again.
        assert row.status == "executing"
        async with svc.sessions() as s:
            [execution] = (
                await s.execute(select(Execution).where(Execution.signal_id == row.id))
            ).scalars()
        assert execution.status == "running"
