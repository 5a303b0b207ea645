"""The Tradovate adapter's error paths, against respx answers shaped like the documented ones:
penalty tickets, 429, 401 on expiry, failureReason rejections, violations, timeouts, 5xx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import respx

from justtrades.brokers.base import (
    AuthFailed,
    BracketLeg,
    BracketRequest,
    BrokerUnavailable,
    OrderRejected,
    OrderRequest,
    OrderType,
    RateLimited,
    Side,
    UnknownOutcome,
)
from justtrades.brokers.tradovate import TradovateBroker, TradovateClient, TradovateCredentials
from justtrades.clock import FakeClock
from justtrades.sim.entities import iso

BASE = "https://demo.tradovateapi.com/v1"


def token(clock: FakeClock, name: str = "tok-1", minutes: int = 90) -> dict[str, object]:
    expires = clock.now() + timedelta(minutes=minutes)
    return {
        "accessToken": name,
        "mdAccessToken": "md",
        "expirationTime": iso(expires),
        "userStatus": "Active",
        "userId": 7,
        "name": "demo",
        "hasLive": False,
    }


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.fixture
def mock(clock: FakeClock) -> AsyncIterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/auth/accesstokenrequest").respond(json=token(clock))
        yield router


@pytest.fixture
def broker(clock: FakeClock, http: httpx.AsyncClient) -> TradovateBroker:
    creds = TradovateCredentials("demo", "secret-pw", cid=8, sec="s3cr3t")
    return TradovateBroker(TradovateClient(creds, BASE, clock=clock, http=http))


def order(**kw: object) -> OrderRequest:
    fields: dict[str, object] = {
        "account_id": "11",
        "symbol": "MNQZ6",
        "side": Side.BUY,
        "qty": 1,
        "client_order_id": "cid-1",
    }
    fields.update(kw)
    return OrderRequest(**fields)  # type: ignore[arg-type]


def sent(route: respx.Route, i: int = -1) -> dict[str, object]:
    body: dict[str, object] = json.loads(route.calls[i].request.content)
    return body


async def test_order_body_is_automated_rounded_and_authorized(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/order/placeorder").respond(json={"orderId": 501})
    ack = await broker.place_order(
        order(order_type=OrderType.LIMIT, price=Decimal("21000.13"), side=Side.SELL)
    )
    assert ack.order_id == "501"
    body = sent(route)
    assert body == {
        "action": "Sell",
        "orderType": "Limit",
        "clOrdId": "cid-1",
        "price": 21000.25,
        "accountId": 11,
        "symbol": "MNQZ6",
        "orderQty": 1,
        "timeInForce": "Day",
        "isAutomated": True,
    }
    assert route.calls[0].request.headers["authorization"] == "Bearer tok-1"
    login = json.loads(mock.routes[0].calls[0].request.content)
    assert login["name"] == "demo" and login["cid"] == 8 and login["sec"] == "s3cr3t"


async def test_failure_reason_is_a_definitive_rejection(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").respond(
        json={"failureReason": "UnknownReason", "failureText": "Access is denied"}
    )
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(order())
    assert (info.value.reason, info.value.text) == ("UnknownReason", "Access is denied")


async def test_success_failure_reason_is_not_a_rejection(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").respond(json={"failureReason": "Success", "orderId": 9})
    assert (await broker.place_order(order())).order_id == "9"


async def test_violations_are_a_rejection(broker: TradovateBroker, mock: respx.MockRouter) -> None:
    mock.post("/order/placeorder").respond(
        json={
            "violations": [
                {"constraint": "accountId", "value": "", "description": "accountId is required"}
            ]
        }
    )
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(order())
    assert info.value.reason == "Violation"
    assert "accountId is required" in info.value.text


async def test_penalty_ticket_is_honoured_then_resent_with_the_ticket(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post("/order/placeorder").mock(
        side_effect=[
            httpx.Response(200, json={"p-ticket": "tkt-9", "p-time": 7, "p-captcha": False}),
            httpx.Response(200, json={"orderId": 77}),
        ]
    )
    ack = await broker.place_order(order())
    assert ack.order_id == "77"
    assert clock.sleeps == [7]
    assert "p-ticket" not in sent(route, 0)
    assert sent(route, 1)["p-ticket"] == "tkt-9"
    assert sent(route, 1)["clOrdId"] == "cid-1"


async def test_penalty_with_captcha_is_not_retried(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post("/order/placeorder").respond(
        json={"p-ticket": "t", "p-time": 3600, "p-captcha": True}
    )
    with pytest.raises(RateLimited):
        await broker.place_order(order())
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_login_penalty_is_waited_out(clock: FakeClock, http: httpx.AsyncClient) -> None:
    with respx.mock(base_url=BASE) as mock:
        login = mock.post("/auth/accesstokenrequest").mock(
            side_effect=[
                httpx.Response(200, json={"p-ticket": "L", "p-time": 3, "p-captcha": False}),
                httpx.Response(200, json=token(clock)),
            ]
        )
        mock.get("/account/list").respond(json=[{"id": 1, "name": "A1", "active": True}])
        broker = TradovateBroker(
            TradovateClient(TradovateCredentials("demo", "pw"), BASE, clock=clock, http=http)
        )
        assert [a.name for a in await broker.list_accounts()] == ["A1"]
        assert clock.sleeps == [3]
        assert json.loads(login.calls[1].request.content)["p-ticket"] == "L"


async def test_bad_credentials_fail_login(clock: FakeClock, http: httpx.AsyncClient) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/auth/accesstokenrequest").respond(
            json={"errorText": "Incorrect username or password. Please try again."}
        )
        broker = TradovateBroker(
            TradovateClient(TradovateCredentials("demo", "bad"), BASE, clock=clock, http=http)
        )
        with pytest.raises(AuthFailed, match="Incorrect username"):
            await broker.connect()


async def test_429_on_an_order_is_unknown_outcome_then_nothing_is_sent_while_cooling(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post("/order/placeorder").respond(status_code=429)
    positions = mock.get("/position/deps").respond(json=[])
    with pytest.raises(UnknownOutcome) as info:
        await broker.place_order(order())
    assert info.value.client_order_id == "cid-1"
    with pytest.raises(RateLimited) as limited:
        await broker.get_positions("11")
    assert limited.value.retry_after_secs == 15
    assert positions.call_count == 0 and route.call_count == 1
    clock.advance(16)
    assert await broker.get_positions("11") == []
    assert positions.call_count == 1


async def test_429_backoff_doubles_and_honours_retry_after(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.get("/position/deps").mock(
        side_effect=[
            httpx.Response(429),
            httpx.Response(429),
            httpx.Response(429, headers={"Retry-After": "120"}),
        ]
    )
    with pytest.raises(RateLimited) as first:
        await broker.get_positions("11")
    clock.advance(first.value.retry_after_secs)
    with pytest.raises(RateLimited) as second:
        await broker.get_positions("11")
    clock.advance(second.value.retry_after_secs)
    with pytest.raises(RateLimited) as third:
        await broker.get_positions("11")
    assert (first.value.retry_after_secs, second.value.retry_after_secs) == (15, 30)
    assert third.value.retry_after_secs == 120
    assert route.call_count == 3


async def test_429s_of_requests_in_flight_together_do_not_stack(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    async def refused(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # both requests are out before either answer arrives
        return httpx.Response(429)

    route = mock.get("/position/deps").mock(side_effect=refused)
    results = await asyncio.gather(
        broker.get_positions("11"), broker.get_positions("12"), return_exceptions=True
    )
    assert route.call_count == 2
    assert all(isinstance(r, RateLimited) for r in results)
    assert [r.retry_after_secs for r in results if isinstance(r, RateLimited)] == [15, 15]
    with pytest.raises(RateLimited) as cooling:  # not sent: still the first 15 s
        await broker.get_positions("11")
    assert cooling.value.retry_after_secs == 15 and route.call_count == 2
    clock.advance(15)
    with pytest.raises(RateLimited) as again:  # sent after the cooldown and refused: doubled
        await broker.get_positions("11")
    assert again.value.retry_after_secs == 30 and route.call_count == 3


async def test_a_success_answered_to_a_request_from_before_the_cooldown_keeps_the_backoff(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    answers = iter([httpx.Response(429), httpx.Response(200, json=[]), httpx.Response(429)])

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return next(answers)

    mock.get("/position/deps").mock(side_effect=answer)
    results = await asyncio.gather(
        broker.get_positions("11"), broker.get_positions("12"), return_exceptions=True
    )
    assert isinstance(results[0], RateLimited) and results[1] == []
    clock.advance(15)
    with pytest.raises(RateLimited) as again:
        await broker.get_positions("11")
    assert again.value.retry_after_secs == 30  # the in-flight success did not reset it


async def test_401_on_expiry_logs_in_again_and_resends_once(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.routes[0].mock(
        side_effect=[
            httpx.Response(200, json=token(clock, "old")),
            httpx.Response(200, json=token(clock, "new")),
        ]
    )
    route = mock.post("/order/placeorder").mock(
        side_effect=[
            httpx.Response(401, text="Expired Access Token"),
            httpx.Response(200, json={"orderId": 5}),
        ]
    )
    assert (await broker.place_order(order())).order_id == "5"
    assert [c.request.headers["authorization"] for c in route.calls] == [
        "Bearer old",
        "Bearer new",
    ]


async def test_token_is_renewed_before_it_expires(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    renew = mock.get("/auth/renewaccesstoken").respond(json=token(clock, "renewed", 90 + 85))
    accounts = mock.get("/account/list").respond(json=[])
    await broker.list_accounts()
    clock.advance(84 * 60)  # 6 minutes before the 90-minute expiry: still fresh
    await broker.list_accounts()
    assert renew.call_count == 0
    clock.advance(2 * 60)  # 4 minutes before: renewed first
    await broker.list_accounts()
    assert renew.call_count == 1
    assert accounts.calls[-1].request.headers["authorization"] == "Bearer renewed"
    assert mock.routes[0].call_count == 1  # never a second login


async def test_timeout_after_sending_an_order_is_unknown_outcome(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/order/placeorder").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UnknownOutcome) as info:
        await broker.place_order(order())
    assert info.value.client_order_id == "cid-1"
    assert route.call_count == 1  # never re-sent


async def test_connect_error_is_not_sent_and_not_unknown(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(BrokerUnavailable):
        await broker.place_order(order())


async def test_5xx_on_an_order_is_unknown_but_on_a_read_is_unavailable(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").respond(status_code=502)
    mock.get("/position/deps").respond(status_code=503)
    with pytest.raises(UnknownOutcome):
        await broker.place_order(order())
    with pytest.raises(BrokerUnavailable):
        await broker.get_positions("11")


async def test_single_bracket_is_one_placeoso_with_tick_rounded_exits(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/order/placeoso").respond(json={"orderId": 1, "oso1Id": 2, "oso2Id": 3})
    req = BracketRequest(
        "11",
        "ESZ6",
        Side.SELL,
        (BracketLeg(2, Decimal("10.1"), Decimal("5.2")),),
        "b-1",
        reference_price=Decimal("6000.1"),
    )
    ack = await broker.place_bracket(req)
    assert (ack.entry_order_id, ack.exit_order_ids) == ("1", ("2", "3"))
    body = sent(route)
    assert body["isAutomated"] is True and body["orderQty"] == 2
    assert body["bracket1"] == {
        "action": "Buy",
        "orderType": "Limit",
        "clOrdId": "b-1-x1",
        "price": 5990.0,
    }
    assert body["bracket2"] == {
        "action": "Buy",
        "orderType": "Stop",
        "clOrdId": "b-1-x2",
        "stopPrice": 6005.25,
    }


async def test_multi_leg_bracket_is_an_order_strategy_with_json_string_params(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/orderStrategy/startorderstrategy").respond(
        json={"orderStrategy": {"id": 44, "status": "ActiveStrategy"}}
    )
    legs = (
        BracketLeg(1, Decimal("5"), Decimal("8")),
        BracketLeg(1, Decimal("12.3"), Decimal("8"), trail_trigger=Decimal("4")),
    )
    ack = await broker.place_bracket(BracketRequest("11", "MNQZ6", Side.BUY, legs, "s-1"))
    assert ack.strategy_id == "44"
    body = sent(route)
    assert (body["orderStrategyTypeId"], body["uuid"], body["action"]) == (2, "s-1", "Buy")
    assert isinstance(body["params"], str)
    params = json.loads(body["params"])
    assert params["entryVersion"] == {"orderQty": 2, "orderType": "Market"}
    assert params["brackets"][0] == {
        "qty": 1,
        "trailingStop": False,
        "profitTarget": 5.0,
        "stopLoss": -8.0,
    }
    assert params["brackets"][1]["profitTarget"] == 12.25
    assert params["brackets"][1]["autoTrail"] == {"stopLoss": 8.0, "trigger": 4.0, "freq": 0.25}


async def test_order_strategy_error_text_is_a_rejection(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/orderStrategy/startorderstrategy").respond(
        json={"errorText": "Invalid or missed parameters"}
    )
    leg = BracketLeg(1, Decimal("5"), Decimal("5"))
    with pytest.raises(OrderRejected, match="Invalid or missed parameters"):
        await broker.place_bracket(BracketRequest("11", "MNQZ6", Side.BUY, (leg,), "s-2"))


async def test_contract_lookups_are_cached_and_flatten_uses_liquidateposition(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    find = mock.get("/contract/find").respond(json={"id": 3456, "name": "MNQZ6"})
    liquidate = mock.post("/order/liquidateposition").respond(json={"orderId": 90})
    assert (await broker.flatten("11", "MNQ1!")).order_id == "90"
    assert (await broker.flatten("11", "MNQZ6")).order_id == "90"
    assert find.call_count == 1
    assert sent(liquidate) == {"accountId": 11, "contractId": 3456, "admin": False}


async def test_an_unknown_instrument_sends_nothing(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/order/placeorder").respond(json={"orderId": 1})
    with pytest.raises(OrderRejected) as info:
        await broker.place_order(order(symbol="QQQZ6"))
    assert info.value.reason == "InvalidContract"
    assert route.call_count == 0


async def test_secrets_do_not_appear_in_reprs(broker: TradovateBroker) -> None:
    text = repr(broker.client.credentials)
    assert "secret-pw" not in text and "s3cr3t" not in text


async def test_many_calls_on_a_dead_token_log_in_once(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    import asyncio

    mock.routes[0].mock(
        side_effect=[
            httpx.Response(200, json=token(clock, "old")),
            httpx.Response(200, json=token(clock, "new")),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401, text="Expired Access Token")
        return httpx.Response(200, json=[])

    mock.get("/position/deps").mock(side_effect=answer)
    await broker.connect()
    results = await asyncio.gather(*(broker.get_positions("11") for _ in range(20)))
    assert results == [[]] * 20
    assert mock.routes[0].call_count == 2  # the first login and exactly one more


async def test_a_failed_renewal_keeps_using_the_valid_token(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    renew = mock.get("/auth/renewaccesstoken").respond(status_code=503)
    accounts = mock.get("/account/list").respond(json=[])
    await broker.connect()
    clock.advance(87 * 60)  # inside the renewal window, 3 minutes before expiry
    assert await broker.list_accounts() == []
    assert await broker.list_accounts() == []
    assert accounts.calls[-1].request.headers["authorization"] == "Bearer tok-1"
    assert renew.call_count == 1  # not again on every call
    clock.advance(31)
    await broker.list_accounts()
    assert renew.call_count == 2


async def test_423_starts_the_cooldown_like_429(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.get("/position/deps").respond(status_code=423)
    with pytest.raises(RateLimited):
        await broker.get_positions("11")
    with pytest.raises(RateLimited):
        await broker.get_positions("11")
    assert route.call_count == 1


async def test_400_about_an_expired_token_logs_in_again(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.routes[0].mock(
        side_effect=[
            httpx.Response(200, json=token(clock, "old")),
            httpx.Response(200, json=token(clock, "new")),
        ]
    )
    route = mock.post("/order/placeorder").mock(
        side_effect=[
            httpx.Response(400, json={"errorText": "Expired Access Token"}),
            httpx.Response(200, json={"orderId": 8}),
        ]
    )
    assert (await broker.place_order(order())).order_id == "8"
    assert route.call_count == 2


async def test_refused_credentials_are_not_retried_at_once(
    clock: FakeClock, http: httpx.AsyncClient
) -> None:
    with respx.mock(base_url=BASE) as mock:
        login = mock.post("/auth/accesstokenrequest").respond(json={"errorText": "Bad password"})
        broker = TradovateBroker(
            TradovateClient(TradovateCredentials("demo", "bad"), BASE, clock=clock, http=http)
        )
        for _ in range(5):
            with pytest.raises(AuthFailed, match="Bad password"):
                await broker.list_accounts()
        assert login.call_count == 1
        clock.advance(61)
        with pytest.raises(AuthFailed):
            await broker.list_accounts()
        assert login.call_count == 2


async def test_an_answer_without_an_order_id_is_unknown_outcome(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").respond(json={})
    with pytest.raises(UnknownOutcome) as info:
        await broker.place_order(order())
    assert info.value.client_order_id == "cid-1"


async def test_a_failed_order_strategy_is_a_rejection(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/orderStrategy/startorderstrategy").respond(
        json={
            "orderStrategy": {
                "id": 3,
                "status": "ExecutionFailed",
                "failureMessage": "NotEnoughLiquidity",
            }
        }
    )
    leg = BracketLeg(1, Decimal("5"), Decimal("5"))
    with pytest.raises(OrderRejected) as info:
        await broker.place_bracket(BracketRequest("11", "MNQZ6", Side.BUY, (leg,), "s-3"))
    assert info.value.reason == "ExecutionFailed"


def _orders_of_account(mock: respx.MockRouter, orders: list[dict[str, object]]) -> None:
    mock.get("/order/deps").respond(json=orders)
    mock.get("/orderVersion/ldeps").respond(
        json=[
            {
                "id": 100 + int(str(o["id"])),
                "orderId": o["id"],
                "orderQty": 1,
                "orderType": o.pop("type"),
            }
            for o in orders
        ]
    )
    mock.get("/command/ldeps").respond(json=[])
    mock.get("/contract/item").respond(json={"id": 3456, "name": "MNQZ6"})


async def test_find_order_never_says_missing_for_an_existing_strategy(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    _orders_of_account(
        mock,
        [
            {
                "id": 5,
                "accountId": 11,
                "contractId": 3456,
                "action": "Buy",
                "ordStatus": "Filled",
                "type": "Market",
            },
            {
                "id": 6,
                "accountId": 11,
                "contractId": 3456,
                "action": "Sell",
                "ordStatus": "Working",
                "type": "MIT",
            },
        ],
    )
    mock.get("/orderStrategy/deps").respond(
        json=[
            {
                "id": 9,
                "uuid": "s-9",
                "contractId": 3456,
                "action": "Buy",
                "status": "ActiveStrategy",
                "params": '{"entryVersion":{"orderQty":2}}',
            },
            {
                "id": 10,
                "uuid": "s-10",
                "contractId": 3456,
                "action": "Sell",
                "status": "ActiveStrategy",
                "params": "{}",
            },
        ]
    )
    mock.get("/orderStrategyLink/deps", params={"masterid": "9"}).respond(
        json=[
            {"id": 1, "orderStrategyId": 9, "orderId": 6, "label": "Target"},
            {"id": 2, "orderStrategyId": 9, "orderId": 5, "label": "Opening"},
        ]
    )
    mock.get("/orderStrategyLink/deps", params={"masterid": "10"}).respond(json=[])
    found = await broker.find_order("11", "s-9")
    assert found is not None and found.order_id == "5"  # the oldest linked order
    synthetic = await broker.find_order("11", "s-10")
    assert synthetic is not None and synthetic.order_id == "strategy:10"
    assert synthetic.status == "ActiveStrategy"
    working = await broker.list_orders("11")
    assert [(o.order_id, o.order_type) for o in working] == [("6", OrderType.MIT)]


def test_requests_that_can_never_be_valid_are_refused_before_sending() -> None:
    from justtrades.brokers.base import InvalidRequest

    with pytest.raises(InvalidRequest, match="stop_price"):
        order(order_type=OrderType.TRAILING_STOP, trail_offset=Decimal(5))
    with pytest.raises(InvalidRequest, match="client_order_id"):
        order(client_order_id="x" * 61)
    with pytest.raises(InvalidRequest, match="not supported"):
        order(order_type=OrderType.MIT, price=Decimal(1))
    with pytest.raises(InvalidRequest):
        order(qty=0)


async def test_a_captcha_on_login_blocks_further_logins(
    clock: FakeClock, http: httpx.AsyncClient
) -> None:
    with respx.mock(base_url=BASE) as mock:
        login = mock.post("/auth/accesstokenrequest").respond(
            json={"p-ticket": "c", "p-time": 3600, "p-captcha": True}
        )
        broker = TradovateBroker(
            TradovateClient(TradovateCredentials("demo", "pw"), BASE, clock=clock, http=http)
        )
        for _ in range(3):
            with pytest.raises((RateLimited, AuthFailed)):
                await broker.list_accounts()
        assert login.call_count == 1


async def test_a_400_that_is_not_about_the_token_is_a_rejection(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    mock.post("/order/placeorder").respond(400, json={"errorText": "Contract MNQZ6 has expired"})
    with pytest.raises(OrderRejected, match="has expired"):
        await broker.place_order(order())
    assert mock.routes[0].call_count == 1  # no new login


@pytest.mark.parametrize("answer", [{"orderId": None}, {"commandId": 5}, {"ok": True}])
async def test_a_placement_answer_without_an_order_id_is_unknown(
    broker: TradovateBroker, mock: respx.MockRouter, answer: dict[str, object]
) -> None:
    mock.post("/order/placeorder").respond(json=answer)
    with pytest.raises(UnknownOutcome) as info:
        await broker.place_order(order())
    assert info.value.client_order_id == "cid-1"


async def test_a_renewal_refused_with_an_odd_4xx_keeps_the_valid_token(
    broker: TradovateBroker, mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get("/auth/renewaccesstoken").respond(403, text="Forbidden")
    route = mock.post("/order/placeorder").respond(json={"orderId": 4})
    await broker.connect()
    clock.advance(88 * 60)
    assert (await broker.place_order(order())).order_id == "4"
    assert route.calls[-1].request.headers["authorization"] == "Bearer tok-1"


@pytest.mark.parametrize(
    ("header", "expected"), [("nan", 15), ("-30", 15), ("inf", 15), ("1e12", 3600), ("0.2", 1)]
)
async def test_odd_retry_after_values_are_clamped(
    broker: TradovateBroker, mock: respx.MockRouter, header: str, expected: float
) -> None:
    mock.get("/position/deps").respond(429, headers={"Retry-After": header})
    with pytest.raises(RateLimited) as info:
        await broker.get_positions("11")
    assert info.value.retry_after_secs == expected


async def test_cancelling_a_bare_strategy_interrupts_it(
    broker: TradovateBroker, mock: respx.MockRouter
) -> None:
    route = mock.post("/orderStrategy/interruptorderstrategy").respond(
        json={"orderStrategy": {"id": 10, "status": "StoppedByUser"}}
    )
    await broker.cancel_order("11", "strategy:10")
    assert sent(route) == {"orderStrategyId": 10}


def test_non_finite_prices_are_refused_before_sending() -> None:
    from justtrades.brokers.base import InvalidRequest

    for bad in ("NaN", "Infinity", "1e-30", "1E+12"):
        with pytest.raises(InvalidRequest):
            order(order_type=OrderType.LIMIT, price=Decimal(bad))
