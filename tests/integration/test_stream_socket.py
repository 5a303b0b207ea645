"""The streams' Tradovate socket client against the simulator's WebSocket, over a real socket:
authorize, requests, events to listeners, and why a socket ends (closed, dead, shut down,
refused), with the heartbeat and the dead-socket rule on a clock the test moves."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from justtrades.clock import SystemClock
from justtrades.sim.runner import SimServer
from justtrades.streams.socket import (
    AuthFailed,
    ShutdownNotice,
    SocketClosed,
    SocketDead,
    SocketError,
    TradovateSocket,
)
from tests.helpers import ManualClock, eventually


def a_socket(sim: SimServer, token: str, clock: Any = None) -> TradovateSocket:
    async def give() -> str:
        return token

    url = f"ws://{sim.host}:{sim.port}/v1/websocket"
    return TradovateSocket(url, give, clock or SystemClock())


async def running(sock: TradovateSocket) -> asyncio.Task[None]:
    task = asyncio.create_task(sock.run())

    async def ready() -> bool:
        if task.done():
            task.result()
        return sock.ready.is_set()

    await eventually(ready)
    return task


async def ended(task: asyncio.Task[None]) -> BaseException:
    async with asyncio.timeout(5):
        with pytest.raises(SocketError) as why:
            await task
    return why.value


async def test_requests_and_props_events_reach_every_listener(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    sock = a_socket(sim, tokens["accessToken"])
    events: list[dict[str, Any]] = []

    def broken(message: dict[str, Any]) -> None:
        raise RuntimeError("a listener's bug")

    sock.listeners += [broken, events.append]  # the broken one never stops the other
    task = await running(sock)
    try:
        status, accounts = await sock.request("account/list")
        assert status == 200 and accounts[0]["id"]
        status, sync = await sock.request(
            "user/syncrequest", {"users": [tokens["userId"]], "splitResponses": True}
        )
        assert status == 200 and sync["users"][0]["id"] == tokens["userId"]
        auth = {"Authorization": f"Bearer {tokens['accessToken']}"}
        await http.post(
            "/v1/order/placeorder",
            headers=auth,
            json={
                "accountId": accounts[0]["id"],
                "action": "Buy",
                "symbol": "MNQZ6",
                "orderQty": 2,
                "orderType": "Market",
                "isAutomated": True,
            },
        )

        async def long_two() -> bool:
            for e in reversed(events):
                if e.get("e") == "props" and e["d"]["entityType"] == "position":
                    return bool(e["d"]["entity"]["netPos"] == 2)
            return False

        await eventually(long_two)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_refused_token_and_a_refused_upgrade(
    sim: SimServer, http: httpx.AsyncClient
) -> None:
    assert isinstance(await ended(asyncio.create_task(a_socket(sim, "nope").run())), AuthFailed)
    await http.post("/_sim/faults", json={"ws_connect_429": True})
    why = await ended(asyncio.create_task(a_socket(sim, "nope").run()))
    assert "429" in str(why)


async def test_the_heartbeat_keeps_it_open_and_silence_is_death(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    hub = sim.state.hub
    assert hub is not None
    hub.idle_secs = 1.0  # the server closes a client silent for 1 s (real time)
    hub.heartbeat_secs = 0.05  # and sends `h` often (real time): frames keep coming
    clock = ManualClock()
    sock = a_socket(sim, tokens["accessToken"], clock)
    task = await running(sock)
    for _ in range(8):  # 2 s of real time: a heartbeat every 2.5 s of the client's clock
        await clock.move(2.5)
        await asyncio.sleep(0.25)
    assert not task.done()  # kept open by its `[]`
    await http.post("/_sim/faults", json={"ws_silent": True})  # no frame, not even `h`
    await clock.move(9.0)
    assert not task.done()
    await clock.move(1.5)  # more than 10 s without a server frame
    assert isinstance(await ended(task), SocketDead)


async def test_a_drop_and_a_shutdown_say_why_the_socket_ended(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    task = await running(sock := a_socket(sim, tokens["accessToken"]))
    await http.post("/_sim/faults", json={"ws_drop": True})
    why = await ended(task)
    assert isinstance(why, SocketClosed) and why.code == 1001
    assert not sock.ready.is_set()
    task = await running(a_socket(sim, tokens["accessToken"]))
    await http.post("/_sim/faults", json={"ws_shutdown": "Maintenance"})
    why = await ended(task)
    assert isinstance(why, ShutdownNotice) and why.reason_code == "Maintenance"


async def test_a_sync_of_twelve_megabytes_arrives_in_one_frame(
    sim: SimServer, tokens: dict[str, Any]
) -> None:
    from decimal import Decimal

    from justtrades.sim.state import OrderSpec

    ex = sim.exchange
    account = next(iter(ex.tables["account"].values()))
    for i in range(30_000):  # working limit orders far below the market: 13-14 MB in all
        spec = OrderSpec("Buy", "Limit", price=Decimal(10_000) + Decimal(i % 400) / 4)
        ex.place_order(account.id, "MNQZ6", 1, spec)
    sock = a_socket(sim, tokens["accessToken"])
    task = await running(sock)
    try:
        status, sync = await sock.request("user/syncrequest", {"users": [tokens["userId"]]})
        assert status == 200 and len(sync["orders"]) >= 30_000
        import json

        assert len(json.dumps(sync)) > 12 * 1024 * 1024
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
