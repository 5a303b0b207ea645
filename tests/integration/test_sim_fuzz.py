"""Malformed input never makes the simulator answer 500 or break a contract for later orders."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justtrades.clock import FakeClock
from justtrades.sim.exchange import Exchange
from justtrades.sim.server import create_sim_app

FIELDS = [
    "accountId",
    "accountSpec",
    "action",
    "symbol",
    "orderQty",
    "orderType",
    "price",
    "stopPrice",
    "pegDifference",
    "timeInForce",
    "clOrdId",
    "text",
    "isAutomated",
    "orderId",
    "contractId",
    "admin",
    "bracket1",
    "bracket2",
    "other",
    "params",
    "orderStrategyTypeId",
    "uuid",
    "orderStrategyId",
    "name",
    "forward",
    "id",
    "ids",
    "masterid",
    "masterids",
]
ENDPOINTS = [
    "order/placeorder",
    "order/placeoso",
    "order/placeoco",
    "order/cancelorder",
    "order/modifyorder",
    "order/liquidateposition",
    "orderStrategy/startorderstrategy",
    "orderStrategy/interruptorderstrategy",
    "cashBalance/getcashbalancesnapshot",
    "contract/rollcontract",
    "contract/find",
    "contract/item",
    "contract/suggest",
    "order/items",
    "position/deps",
    "fill/ldeps",
    "orderVersion/deps",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "Buy",
            "Sell",
            "Market",
            "Limit",
            "Stop",
            "StopLimit",
            "TrailingStop",
            "MNQZ6",
            "ESZ6",
            "1e400",
            "-0",
            "1E-999999",
            "NaN",
            "DEMO00001",
            "2",
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)


@pytest.fixture(scope="module")
def client() -> Any:
    app = create_sim_app(Exchange(FakeClock(), seed=1, accounts=2))
    with TestClient(app) as c:
        token = c.post(
            "/v1/auth/accesstokenrequest", json={"name": "demo", "password": "demo"}
        ).json()["accessToken"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies, as_query=st.booleans())
def test_no_request_is_answered_500(
    client: Any, endpoint: str, body: dict[str, Any], as_query: bool
) -> None:
    if as_query:
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        r = client.get(f"/v1/{endpoint}", params=params)
    else:
        r = client.post(f"/v1/{endpoint}", content=json.dumps(body).encode())
    assert r.status_code in (200, 400, 404), (r.status_code, r.text)
    r.json()  # always a JSON answer
    # and the market still trades for everyone afterwards
    acct = client.get("/v1/account/list").json()[1]["id"]
    ok = client.post(
        "/v1/order/placeorder",
        json={
            "accountId": acct,
            "action": "Buy",
            "symbol": "MNQZ6",
            "orderQty": 1,
            "orderType": "Market",
        },
    )
    assert "orderId" in ok.json(), ok.text
    assert client.post("/_sim/price", json={"symbol": "MNQZ6", "price": 21000}).status_code == 200


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=64))
def test_unreadable_bodies_are_400(client: Any, raw: bytes) -> None:
    r = client.post("/v1/order/placeorder", content=raw)
    assert r.status_code in (200, 400), (r.status_code, r.text)
