"""The simulator's Tradovate surface and control API over a real socket, as a raw HTTP client
(curl, an integrator's own code) sees them."""

from __future__ import annotations

import json

import httpx
import pytest

from justtrades.clock import FakeClock

from .conftest import login


@pytest.fixture
async def auth(http: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await login(http))['accessToken']}"}


async def first_account(http: httpx.AsyncClient, auth: dict[str, str]) -> int:
    accounts = (await http.get("/v1/account/list", headers=auth)).json()
    return int(accounts[0]["id"])


async def test_login_returns_the_documented_fields(http: httpx.AsyncClient) -> None:
    data = await login(http)
    assert {"accessToken", "mdAccessToken", "expirationTime", "userId", "userStatus", "name"} <= (
        data.keys()
    )
    assert data["userStatus"] == "Active" and data["name"] == "demo"
    assert data["expirationTime"] == "2026-11-27T16:30:00.000Z"  # 90 minutes on the FakeClock


async def test_bad_login_is_http_200_with_error_text(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/auth/accesstokenrequest", json={"name": "demo", "password": "no"})
    assert r.status_code == 200
    assert set(r.json()) == {"errorText"}


async def test_missing_or_expired_token_is_401(
    http: httpx.AsyncClient, auth: dict[str, str], clock: FakeClock
) -> None:
    assert (await http.get("/v1/account/list")).status_code == 401
    assert (await http.get("/v1/account/list", headers=auth)).status_code == 200
    clock.advance(90 * 60)
    assert (await http.get("/v1/account/list", headers=auth)).status_code == 401


async def test_renewal_gives_a_new_token_with_a_later_expiry(
    http: httpx.AsyncClient, auth: dict[str, str], clock: FakeClock
) -> None:
    clock.advance(85 * 60)
    r = await http.get("/v1/auth/renewAccessToken", headers=auth)
    renewed = r.json()
    assert renewed["accessToken"] != auth["Authorization"].split()[1]
    assert renewed["expirationTime"] == "2026-11-27T17:55:00.000Z"


async def test_paths_are_case_insensitive_and_methods_relaxed(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    a = (await http.get("/v1/contract/find?name=MNQZ6", headers=auth)).json()
    b = (await http.post("/v1/Contract/Find", json={"name": "MNQZ6"}, headers=auth)).json()
    assert a == b
    assert a["name"] == "MNQZ6" and a["providerTickSize"] == 0.25
    item = (await http.get(f"/v1/contract/item?id={a['id']}", headers=auth)).json()
    assert item == a


async def test_unknown_item_and_unknown_endpoint_are_404(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await http.get("/v1/order/item?id=1", headers=auth)).status_code == 404
    assert (await http.get("/v1/contract/find?name=NQZ9", headers=auth)).status_code == 404
    assert (await http.get("/v1/nosuch/list", headers=auth)).status_code == 404


async def test_unreadable_body_is_400(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await http.post("/v1/order/placeorder", content=b"{bad", headers=auth)
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["errorText"]


async def test_missing_required_field_is_a_violation(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    r = await http.post("/v1/order/placeorder", json={"accountId": acct}, headers=auth)
    assert r.status_code == 200
    assert r.json()["violations"][0]["constraint"] in ("action", "orderQty")


async def test_order_entities_keep_price_and_qty_on_the_version(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    r = await http.post(
        "/v1/order/placeOrder",
        json={
            "accountSpec": "DEMO00001",
            "action": "Buy",
            "symbol": "MNQZ6",
            "orderQty": 2,
            "orderType": "Limit",
            "price": 20900,
            "clOrdId": "mine-1",
            "isAutomated": True,
        },
        headers=auth,
    )
    order_id = r.json()["orderId"]
    order = (await http.get(f"/v1/order/item?id={order_id}", headers=auth)).json()
    assert order["accountId"] == acct and order["ordStatus"] == "Working"
    assert "price" not in order and "orderQty" not in order and "orderType" not in order
    [version] = (await http.get(f"/v1/orderVersion/deps?masterid={order_id}", headers=auth)).json()
    assert (version["orderQty"], version["orderType"], version["price"]) == (2, "Limit", 20900)
    [command] = (await http.get(f"/v1/command/deps?masterid={order_id}", headers=auth)).json()
    assert command["clOrdId"] == "mine-1" and command["id"] == version["id"]
    r = await http.post(
        "/v1/order/modifyorder",
        json={"orderId": order_id, "orderQty": 1, "orderType": "Limit", "price": 20950},
        headers=auth,
    )
    command_id = r.json()["commandId"]
    versions = (await http.get(f"/v1/orderVersion/deps?masterid={order_id}", headers=auth)).json()
    assert [v["id"] for v in versions][-1] == command_id
    assert versions[-1]["price"] == 20950


async def test_business_rejection_is_http_200_with_failure_reason(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    body = {
        "accountId": acct,
        "action": "Buy",
        "symbol": "MNQZ6",
        "orderQty": 1,
        "orderType": "Limit",
        "price": 20900.1,
    }
    r = await http.post("/v1/order/placeorder", json=body, headers=auth)
    assert r.status_code == 200
    assert r.json()["failureReason"] == "InvalidPrice"
    r = await http.post("/v1/order/placeorder", json={**body, "symbol": "E6H9"}, headers=auth)
    assert r.json() == {"failureReason": "UnknownReason", "failureText": "Access is denied"}


async def test_bracket_walkthrough_fills_pairs_and_cash(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    r = await http.post(
        "/v1/order/placeoso",
        json={
            "accountId": acct,
            "action": "Buy",
            "symbol": "MNQZ6",
            "orderQty": 1,
            "orderType": "Market",
            "isAutomated": True,
            "bracket1": {"action": "Sell", "orderType": "Limit", "price": 21010},
            "bracket2": {"action": "Sell", "orderType": "Stop", "stopPrice": 20990},
        },
        headers=auth,
    )
    ids = r.json()
    assert set(ids) == {"orderId", "oso1Id", "oso2Id"}
    moved = (await http.post("/_sim/price", json={"symbol": "MNQZ6", "price": 21010})).json()
    assert [f["orderId"] for f in moved["fills"]] == [ids["oso1Id"]]
    stop = (await http.get(f"/v1/order/item?id={ids['oso2Id']}", headers=auth)).json()
    assert stop["ordStatus"] == "Canceled"
    [pair] = (await http.get("/v1/fillPair/list", headers=auth)).json()
    assert (pair["qty"], pair["buyPrice"], pair["sellPrice"]) == (1, 21000, 21010)
    [pos] = (await http.get(f"/v1/position/deps?masterid={acct}", headers=auth)).json()
    assert (pos["netPos"], pos["bought"], pos["sold"]) == (0, 1, 1)
    assert pos["boughtValue"] == 21000 and pos["soldValue"] == 21010
    snap = (
        await http.post(
            "/v1/cashBalance/getcashbalancesnapshot", json={"accountId": acct}, headers=auth
        )
    ).json()
    assert snap["realizedPnL"] == 20 and snap["totalCashValue"] == 50_020


async def test_start_order_strategy_and_its_links(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    params = {
        "entryVersion": {"orderQty": 2, "orderType": "Market"},
        "brackets": [{"qty": 2, "profitTarget": -10, "stopLoss": 5, "trailingStop": False}],
    }
    r = await http.post(
        "/v1/orderStrategy/startOrderStrategy",
        json={
            "accountId": acct,
            "symbol": "MNQZ6",
            "action": "Sell",
            "orderStrategyTypeId": 2,
            "params": json.dumps(params),
            "uuid": "u-1",
        },
        headers=auth,
    )
    strategy = r.json()["orderStrategy"]
    assert strategy["status"] == "ActiveStrategy" and strategy["uuid"] == "u-1"
    links = (
        await http.get(f"/v1/orderStrategyLink/deps?masterid={strategy['id']}", headers=auth)
    ).json()
    assert [ln["label"] for ln in links] == ["Entry", "TP1", "SL1"]
    bad = {**params, "brackets": [{"qty": 2, "profitTarget": 10, "stopLoss": 5}]}
    r = await http.post(
        "/v1/orderStrategy/startOrderStrategy",
        json={
            "accountId": acct,
            "symbol": "MNQZ6",
            "action": "Sell",
            "orderStrategyTypeId": 2,
            "params": json.dumps(bad),
        },
        headers=auth,
    )
    assert r.json()["errorText"].startswith("Invalid or missed parameters")


async def test_control_api_validates_its_input(http: httpx.AsyncClient) -> None:
    r = await http.post("/_sim/price", json={"symbol": "MNQZ6", "price": 21000.1})
    assert r.status_code == 422 and "tick grid" in r.json()["detail"]
    r = await http.post("/_sim/price", json={"symbol": "NOPE", "price": 1})
    assert r.status_code == 404
    r = await http.post("/_sim/faults", json={"latency": 5})
    assert r.status_code == 422
    r = await http.post("/_sim/faults", json={"error_rate": 2})
    assert r.status_code == 422


async def test_faults_set_and_cleared_by_an_empty_body(http: httpx.AsyncClient) -> None:
    r = await http.post("/_sim/faults", json={"latency_ms": 20, "reject_reason": "NoQuote"})
    assert r.json()["latency_ms"] == 20
    assert (await http.get("/_sim/faults")).json()["reject_reason"] == "NoQuote"
    cleared = (await http.post("/_sim/faults")).json()
    assert cleared["latency_ms"] == 0 and cleared["reject_reason"] is None


async def test_state_and_reset(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    acct = await first_account(http, auth)
    await http.post(
        "/v1/order/placeorder",
        headers=auth,
        json={
            "accountId": acct,
            "action": "Sell",
            "symbol": "ESZ6",
            "orderQty": 1,
            "orderType": "Market",
        },
    )
    state = (await http.get("/_sim/state")).json()
    assert {"accounts", "orders", "positions", "fills", "prices", "faults"} <= state.keys()
    assert len(state["accounts"]) == 3 and "cashBalance" in state["accounts"][0]
    [order] = state["orders"]
    assert order["contractName"] == "ESZ6" and order["ordStatus"] == "Filled"
    assert state["positions"][0]["netPos"] == -1
    assert state["prices"]["ESZ6"] == 6000
    await http.post("/_sim/reset")
    state = (await http.get("/_sim/state")).json()
    assert state["orders"] == [] and state["fills"] == []
    assert (await http.get("/v1/account/list", headers=auth)).status_code == 200


async def test_random_walk_is_seeded_and_stays_on_the_grid(http: httpx.AsyncClient) -> None:
    a = (await http.post("/_sim/walk", json={"symbol": "6E1!", "steps": 50})).json()
    await http.post("/_sim/reset")
    b = (await http.post("/_sim/walk", json={"symbol": "6E1!", "steps": 50})).json()
    assert a == b
    ticks = round(a["price"] / 0.00005)
    assert abs(ticks * 0.00005 - a["price"]) < 1e-12


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("orderQty", "1.5"),
        ("orderQty", '"two"'),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("price", '"21000.25x"'),
        ("accountId", '"abc"'),
        ("price", "true"),
    ],
)
async def test_malformed_numbers_are_violations_never_500(
    http: httpx.AsyncClient, auth: dict[str, str], field: str, raw: str
) -> None:
    acct = await first_account(http, auth)
    fields = {
        "accountId": str(acct),
        "action": '"Buy"',
        "symbol": '"MNQZ6"',
        "orderQty": "1",
        "orderType": '"Limit"',
        "price": "20000",
    }
    fields[field] = raw
    body = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"
    r = await http.post("/v1/order/placeorder", content=body.encode(), headers=auth)
    assert r.status_code == 200
    [violation] = r.json()["violations"]
    assert violation["constraint"] == field


async def test_bad_query_numbers_are_400(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await http.get("/v1/contract/suggest?t=MN&l=x", headers=auth)
    assert r.status_code == 400 and "l must be" in r.json()["errorText"]
    r = await http.get("/v1/order/item?id=abc", headers=auth)
    assert r.status_code == 400


async def test_control_price_out_of_range_is_422(http: httpx.AsyncClient) -> None:
    for price in ("1e400", '"NaN"', "-5", "0"):
        r = await http.post(
            "/_sim/price",
            content=('{"symbol":"MNQZ6","price":' + price + "}").encode(),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, price


async def test_a_bracket_stop_on_the_wrong_side_is_refused_as_the_plain_order_is(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    acct = await first_account(http, auth)
    wrong = {"action": "Sell", "orderType": "Stop", "stopPrice": 21010}  # above a 21000 market
    plain = await http.post(
        "/v1/order/placeorder",
        json={"accountId": acct, "symbol": "MNQZ6", "orderQty": 1, "isAutomated": True, **wrong},
        headers=auth,
    )
    assert plain.json()["failureReason"] == "InvalidPrice"
    bracket = await http.post(
        "/v1/order/placeoso",
        json={
            "accountId": acct,
            "action": "Buy",
            "symbol": "MNQZ6",
            "orderQty": 1,
            "orderType": "Market",
            "isAutomated": True,
            "bracket1": wrong,
        },
        headers=auth,
    )
    assert bracket.json()["failureReason"] == "InvalidPrice"
    state = (await http.get("/_sim/state")).json()
    assert state["orders"] == [] and state["fills"] == []  # nothing of it was placed


async def test_a_json_null_body_is_no_body(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await http.post("/v1/account/list", content=b"null", headers=auth)
    assert r.status_code == 200 and r.json()[0]["id"]


async def test_penalties_can_be_limited_to_given_paths(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await http.post(
        "/_sim/faults", json={"penalty_rate": 1.0, "penalty_paths": ["auth/accessTokenRequest"]}
    )
    assert isinstance((await http.get("/v1/account/list", headers=auth)).json(), list)
    r = await http.post(
        "/v1/auth/accesstokenrequest",
        json={"name": "demo", "password": "demo", "appId": "x", "cid": 1, "sec": "x"},
    )
    assert "p-ticket" in r.json()
