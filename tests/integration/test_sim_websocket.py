"""The simulator's Tradovate WebSocket over a real socket, as a client library speaks it
(reference/tradovate.md §8): framing, authorize, sync, props events, quotes, faults."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from justtrades.sim.runner import SimServer


def ws_url(sim: SimServer, path: str = "/v1/websocket") -> str:
    return f"ws://{sim.host}:{sim.port}{path}"


async def next_data(ws: ClientConnection, within: float = 5) -> list[dict[str, Any]]:
    """The messages of the next `a[...]` frame (heartbeats skipped)."""
    async with asyncio.timeout(within):
        while True:
            text = str(await ws.recv())
            if text.startswith("a"):
                messages: list[dict[str, Any]] = json.loads(text[1:])
                return messages


async def answer(ws: ClientConnection, request_id: int, within: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            for message in await next_data(ws):
                if message.get("i") == request_id:
                    return message


async def event(ws: ClientConnection, kind: str, within: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            for message in await next_data(ws):
                if message.get("e") == kind:
                    return message


async def until_closed(ws: ClientConnection) -> list[str]:
    """Every frame until the server closes the socket (bounded)."""
    frames: list[str] = []
    async with asyncio.timeout(3):
        try:
            while True:
                frames.append(str(await ws.recv()))
        except websockets.ConnectionClosed:
            return frames


async def opened(sim: SimServer, token: str, path: str = "/v1/websocket") -> ClientConnection:
    ws = await websockets.connect(ws_url(sim, path))
    assert await ws.recv() == "o"
    await ws.send(f"authorize\n0\n\n{token}")
    assert await answer(ws, 0) == {"s": 200, "i": 0}
    return ws


async def test_open_authorize_sync_and_props_as_the_exchange_changes(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    ws = await opened(sim, tokens["accessToken"])
    try:
        # a pretty-printed body, a lowercase-insensitive endpoint, as the npm client sends it
        user_id = tokens["userId"]
        await ws.send(f'user/syncRequest\n3\n\n{{\n  "users": [\n    {user_id}\n  ]\n}}')
        sync = await answer(ws, 3)
        assert sync["s"] == 200
        d = sync["d"]
        assert [u["id"] for u in d["users"]] == [tokens["userId"]]
        account_id = d["accounts"][0]["id"]
        assert {"positions", "orders", "fills", "cashBalances", "contracts"} <= set(d)
        # an order placed over REST shows up as props events on the socket
        auth = {"Authorization": f"Bearer {tokens['accessToken']}"}
        placed = await http.post(
            "/v1/order/placeorder",
            headers=auth,
            json={
                "accountSpec": d["accounts"][0]["name"],
                "accountId": account_id,
                "action": "Buy",
                "symbol": "MNQZ6",
                "orderQty": 1,
                "orderType": "Market",
                "isAutomated": True,
            },
        )
        assert "orderId" in placed.json(), placed.text
        seen: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(5):
            while not (
                {"order", "fill", "position"} <= set(seen)
                and seen["position"]["entity"]["netPos"] == 1
            ):
                for message in await next_data(ws):
                    if message.get("e") == "props":
                        seen[message["d"]["entityType"]] = message["d"]
        assert seen["position"]["entity"]["netPos"] == 1
        for kind in ("order", "fill", "position"):
            assert seen[kind]["entity"]["accountId"] == account_id  # routed by account
            assert seen[kind]["eventType"] in ("Created", "Updated")
    finally:
        await ws.close()


async def test_requests_answer_as_over_rest_and_need_authorization(
    sim: SimServer, tokens: dict[str, Any]
) -> None:
    ws = await websockets.connect(ws_url(sim))
    try:
        assert await ws.recv() == "o"
        await ws.send("account/list\n1\n\n")
        assert (await answer(ws, 1))["s"] == 401  # not authorized yet
        await ws.send('authorize\n2\n\n"not-a-token"')
        assert (await answer(ws, 2))["s"] == 401
        await ws.send(f'authorize\n3\n\n"{tokens["mdAccessToken"]}"')  # JSON-quoted md token
        assert await answer(ws, 3) == {"s": 200, "i": 3}
        await ws.send("account/list\n4\n\n")
        listed = await answer(ws, 4)
        assert listed["s"] == 200 and listed["d"][0]["name"]
        await ws.send("contract/find\n5\nname=MNQZ6\n")
        assert (await answer(ws, 5))["d"]["name"] == "MNQZ6"
        await ws.send("nosuch/thing\n6\n\n")
        assert (await answer(ws, 6))["s"] == 404
    finally:
        await ws.close()


async def test_quotes_by_symbol_or_id_on_every_price_change_until_unsubscribed(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    ws = await opened(sim, tokens["mdAccessToken"], "/md/v1/websocket")
    try:
        await ws.send('md/subscribequote\n1\n\n{"symbol": "MNQZ6"}')
        assert (await answer(ws, 1))["s"] == 200
        first = await event(ws, "md")
        [quote] = first["d"]["quotes"]
        contract_id = quote["contractId"]
        assert set(quote["entries"]) >= {"Trade", "Bid", "Offer"}
        await http.post("/_sim/price", json={"symbol": "MNQZ6", "price": 21012.25})
        moved = await event(ws, "md")
        assert moved["d"]["quotes"][0]["entries"]["Trade"]["price"] == 21012.25
        await ws.send(f'md/unsubscribeQuote\n2\n\n{{"symbol": {contract_id}}}')
        assert (await answer(ws, 2))["s"] == 200
        await http.post("/_sim/price", json={"symbol": "MNQZ6", "price": 21013.25})
        with pytest.raises(TimeoutError):
            await event(ws, "md", within=0.5)
    finally:
        await ws.close()


async def test_heartbeats_and_a_silent_client_is_closed(sim: SimServer) -> None:
    hub = sim.state.hub
    assert hub is not None
    hub.heartbeat_secs, hub.idle_secs = 0.05, 0.4
    ws = await websockets.connect(ws_url(sim))
    try:
        assert await ws.recv() == "o"
        assert await asyncio.wait_for(ws.recv(), 2) == "h"
        frames = await until_closed(ws)
        assert frames[-1].startswith("c[") and "inactivity" in frames[-1]
    finally:
        await ws.close()


async def test_faults_drop_silence_refuse_and_shutdown_are_counted(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    hub = sim.state.hub
    assert hub is not None
    hub.heartbeat_secs = 0.05
    one = await opened(sim, tokens["accessToken"])
    two = await opened(sim, tokens["accessToken"], "/md/v1/websocket")
    state = (await http.get("/_sim/state")).json()
    assert state["ws"] == {"open": 2, "connects": 2, "refused": 0}
    # ws_drop closes every open socket once (md sockets too), and is not kept
    kept = (await http.post("/_sim/faults", json={"ws_drop": True})).json()
    for ws in (one, two):
        assert (await until_closed(ws))[-1].startswith("c[1001,")
    assert kept["ws_drop"] is True
    assert (await http.get("/_sim/faults")).json()["ws_drop"] is False
    # ws_connect_429 refuses upgrades with 429
    await http.post("/_sim/faults", json={"ws_connect_429": True})
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url(sim))
    assert refused.value.response.status_code == 429
    # ws_silent: upgrades accepted, nothing sent, not even o or h
    await http.post("/_sim/faults", json={"ws_silent": True})
    quiet = await websockets.connect(ws_url(sim))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(quiet.recv(), 0.4)
    await quiet.close()
    # ws_shutdown: the shutdown event, then the close
    await http.post("/_sim/faults", json={})
    last = await opened(sim, tokens["accessToken"])
    await http.post("/_sim/faults", json={"ws_shutdown": "Maintenance"})
    shutdown = await event(last, "shutdown")
    assert shutdown["d"] == {"reasonCode": "Maintenance"}
    assert "shutdown" in (await until_closed(last))[-1]
    await asyncio.sleep(0.1)
    state = (await http.get("/_sim/state")).json()
    assert state["ws"] == {"open": 0, "connects": 4, "refused": 1}


async def test_the_state_never_fails_while_orders_flow(
    sim: SimServer, tokens: dict[str, Any], http: httpx.AsyncClient
) -> None:
    # Found from outside: /_sim/state ran in a thread beside the exchange and failed with
    # "dictionary changed size during iteration" while orders were placed.
    auth = {"Authorization": f"Bearer {tokens['accessToken']}"}
    accounts = (await http.get("/v1/account/list", headers=auth)).json()

    async def place(i: int) -> None:
        await http.post(
            "/v1/order/placeorder",
            headers=auth,
            json={
                "accountSpec": accounts[0]["name"],
                "accountId": accounts[0]["id"],
                "action": "Buy" if i % 2 else "Sell",
                "symbol": "MNQZ6",
                "orderQty": 1,
                "orderType": "Limit",
                "price": 20000 + i,
                "isAutomated": True,
            },
        )

    async def read() -> list[int]:
        return [(await http.get("/_sim/state")).status_code for _ in range(20)]

    results = await asyncio.gather(*(place(i) for i in range(60)), read(), read())
    assert all(code == 200 for codes in results[-2:] for code in codes)  # type: ignore[union-attr]
