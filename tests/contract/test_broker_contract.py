"""The Broker contract: every test runs against the paper broker and against the Tradovate
adapter over a real socket to the simulator (see conftest.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from justtrades.brokers.base import (
    BracketLeg,
    BracketRequest,
    ModifyRequest,
    OrderRejected,
    OrderRequest,
    OrderType,
    Side,
    new_client_order_id,
)

from .conftest import SYMBOL, Venue

D = Decimal


def market(account: str, side: Side, qty: int = 1, **kw: object) -> OrderRequest:
    return OrderRequest(account, SYMBOL, side, qty, new_client_order_id(), **kw)  # type: ignore[arg-type]


def bracket(account: str, side: Side, *legs: BracketLeg, **kw: object) -> BracketRequest:
    return BracketRequest(account, SYMBOL, side, legs, new_client_order_id(), **kw)  # type: ignore[arg-type]


async def test_lists_the_users_accounts(venue: Venue) -> None:
    accounts = await venue.broker.list_accounts()
    assert len(accounts) == 3
    assert len({a.account_id for a in accounts}) == 3
    assert all(a.name and a.active for a in accounts)


async def test_market_order_fills_at_the_market_and_opens_a_position(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000.25")
    ack = await venue.broker.place_order(market(acct, Side.BUY, 2))
    pos = await venue.broker.get_position(acct, SYMBOL)
    assert (pos.net_pos, pos.avg_price) == (2, D("21000.25"))
    fills = await venue.broker.list_fills(acct)
    assert [(f.order_id, f.side, f.qty, f.price) for f in fills] == [
        (ack.order_id, Side.BUY, 2, D("21000.25"))
    ]
    other = await venue.broker.get_position(venue.accounts[1], SYMBOL)
    assert other.is_flat


async def test_continuous_symbol_trades_the_front_month(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.broker.place_order(OrderRequest(acct, "MNQ1!", Side.SELL, 1, "c-1"))
    positions = await venue.broker.get_positions(acct)
    assert [(p.symbol, p.net_pos) for p in positions] == [(SYMBOL, -1)]


async def test_average_price_across_adds(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    await venue.broker.place_order(market(acct, Side.BUY, 1))
    await venue.set_price("21010.25")
    await venue.broker.place_order(market(acct, Side.BUY, 3))
    pos = await venue.broker.get_position(acct, SYMBOL)
    assert pos.net_pos == 4
    assert pos.avg_price == (D("21000") + 3 * D("21010.25")) / 4


async def test_limit_order_rests_then_fills_when_reached(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    req = market(acct, Side.BUY, 1, order_type=OrderType.LIMIT, price=D("20990"))
    ack = await venue.broker.place_order(req)
    [working] = await venue.broker.list_orders(acct)
    assert working.order_id == ack.order_id
    assert working.client_order_id == req.client_order_id
    assert (working.order_type, working.price, working.qty) == (OrderType.LIMIT, D("20990"), 1)
    await venue.set_price("20995")
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat
    await venue.set_price("20985")
    pos = await venue.broker.get_position(acct, SYMBOL)
    assert (pos.net_pos, pos.avg_price) == (1, D("20990"))
    assert await venue.broker.list_orders(acct) == []


async def test_prices_are_rounded_to_the_tick_before_they_are_sent(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    req = market(acct, Side.SELL, 1, order_type=OrderType.LIMIT, price=D("21010.13"))
    await venue.broker.place_order(req)
    [working] = await venue.broker.list_orders(acct)
    assert working.price == D("21010.25")


async def test_single_leg_bracket_take_profit_fills_and_cancels_the_stop(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    leg = BracketLeg(2, take_profit=D("10"), stop_loss=D("5"))
    ack = await venue.broker.place_bracket(bracket(acct, Side.BUY, leg, reference_price=D("21000")))
    assert ack.entry_order_id is not None
    assert len(ack.exit_order_ids) == 2
    pos = await venue.broker.get_position(acct, SYMBOL)
    assert pos.net_pos == 2
    working = {
        (o.side, o.order_type, o.price, o.stop_price, o.qty)
        for o in await venue.broker.list_orders(acct)
    }
    assert working == {
        (Side.SELL, OrderType.LIMIT, D("21010"), None, 2),
        (Side.SELL, OrderType.STOP, None, D("20995"), 2),
    }
    await venue.set_price("21010")
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat
    assert await venue.broker.list_orders(acct) == []
    cash = await venue.broker.get_cash_balance(acct)
    assert cash.realized_pnl == D("40")  # 10 points x 2 contracts x $2 per MNQ point


async def test_bracket_stop_loss_fills_and_cancels_the_target(venue: Venue) -> None:
    acct = venue.accounts[1]
    await venue.set_price("21000")
    leg = BracketLeg(1, take_profit=D("10"), stop_loss=D("5"))
    await venue.broker.place_bracket(bracket(acct, Side.SELL, leg, reference_price=D("21000")))
    assert (await venue.broker.get_position(acct, SYMBOL)).net_pos == -1
    await venue.set_price("21007")  # gaps through the 21005 stop: fills at the gap price
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat
    assert await venue.broker.list_orders(acct) == []
    cash = await venue.broker.get_cash_balance(acct)
    assert cash.realized_pnl == D("-14")  # short 21000, out 21007: 7 points x $2


async def test_multi_leg_bracket_places_each_leg_from_the_fill(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    legs = (
        BracketLeg(1, take_profit=D("5"), stop_loss=D("10")),
        BracketLeg(2, take_profit=D("10"), stop_loss=D("10")),
    )
    ack = await venue.broker.place_bracket(bracket(acct, Side.BUY, *legs))
    assert ack.strategy_id is not None
    assert (await venue.broker.get_position(acct, SYMBOL)).net_pos == 3
    working = sorted(
        (o.order_type, o.price or o.stop_price, o.qty) for o in await venue.broker.list_orders(acct)
    )
    assert working == [
        (OrderType.LIMIT, D("21005"), 1),
        (OrderType.LIMIT, D("21010"), 2),
        (OrderType.STOP, D("20990"), 1),
        (OrderType.STOP, D("20990"), 2),
    ]
    await venue.set_price("21005")
    assert (await venue.broker.get_position(acct, SYMBOL)).net_pos == 2
    assert len(await venue.broker.list_orders(acct)) == 2
    await venue.set_price("20990")
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat
    assert await venue.broker.list_orders(acct) == []
    found = await venue.broker.find_order(acct, ack.client_order_id)
    assert found is not None and found.status == "Filled" and found.qty == 3


async def test_trailing_stop_leg_follows_the_price(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    leg = BracketLeg(1, stop_loss=D("5"), trailing=True)
    await venue.broker.place_bracket(bracket(acct, Side.BUY, leg, reference_price=D("21000")))
    [stop] = await venue.broker.list_orders(acct)
    assert (stop.order_type, stop.stop_price) == (OrderType.TRAILING_STOP, D("20995"))
    await venue.set_price("21012")
    [stop] = await venue.broker.list_orders(acct)
    assert stop.stop_price == D("21007")
    await venue.set_price("21009")
    [stop] = await venue.broker.list_orders(acct)
    assert stop.stop_price == D("21007")  # never moves back
    await venue.set_price("21006.75")
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat


async def test_auto_trail_leg_starts_trailing_after_its_trigger(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    leg = BracketLeg(1, stop_loss=D("4"), trail_trigger=D("6"), trail_step=D("1"))
    await venue.broker.place_bracket(bracket(acct, Side.BUY, leg))
    [stop] = await venue.broker.list_orders(acct)
    assert stop.stop_price == D("20996")
    await venue.set_price("21005")  # 5 points of profit: below the trigger
    [stop] = await venue.broker.list_orders(acct)
    assert stop.stop_price == D("20996")
    await venue.set_price("21008")
    [stop] = await venue.broker.list_orders(acct)
    assert stop.stop_price == D("21004")


async def test_cancel_then_cancel_again_is_a_definitive_rejection(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    req = market(acct, Side.BUY, 1, order_type=OrderType.LIMIT, price=D("20900"))
    ack = await venue.broker.place_order(req)
    await venue.broker.cancel_order(acct, ack.order_id)
    assert await venue.broker.list_orders(acct) == []
    with pytest.raises(OrderRejected) as info:
        await venue.broker.cancel_order(acct, ack.order_id)
    assert info.value.reason == "TooLate"


async def test_modify_moves_a_working_order(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    req = market(acct, Side.SELL, 1, order_type=OrderType.STOP, stop_price=D("20980"))
    ack = await venue.broker.place_order(req)
    await venue.broker.modify_order(
        ModifyRequest(acct, ack.order_id, SYMBOL, 2, OrderType.STOP, stop_price=D("20990.1"))
    )
    [working] = await venue.broker.list_orders(acct)
    assert (working.qty, working.stop_price) == (2, D("20990"))
    await venue.set_price("20990")
    assert (await venue.broker.get_position(acct, SYMBOL)).net_pos == -2


async def test_flatten_cancels_working_orders_and_closes(venue: Venue) -> None:
    acct, other = venue.accounts[0], venue.accounts[1]
    await venue.set_price("21000")
    leg = BracketLeg(3, take_profit=D("20"), stop_loss=D("20"))
    await venue.broker.place_bracket(bracket(acct, Side.BUY, leg, reference_price=D("21000")))
    await venue.broker.place_order(market(other, Side.BUY, 1))
    await venue.set_price("21004")
    ack = await venue.broker.flatten(acct, SYMBOL)
    assert ack.order_id is not None
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat
    assert await venue.broker.list_orders(acct) == []
    assert (await venue.broker.get_position(other, SYMBOL)).net_pos == 1
    cash = await venue.broker.get_cash_balance(acct)
    assert cash.realized_pnl == D("24")  # 4 points x 3 x $2
    again = await venue.broker.flatten(acct, SYMBOL)
    assert again.order_id is None


async def test_find_order_by_client_order_id(venue: Venue) -> None:
    acct = venue.accounts[2]
    req = market(acct, Side.BUY, 1, order_type=OrderType.LIMIT, price=D("20000"))
    ack = await venue.broker.place_order(req)
    found = await venue.broker.find_order(acct, req.client_order_id)
    assert found is not None and found.order_id == ack.order_id and found.is_working
    assert await venue.broker.find_order(acct, "never-sent") is None


async def test_a_client_order_id_is_used_once_per_account(venue: Venue) -> None:
    a, b = venue.accounts[0], venue.accounts[1]
    await venue.broker.place_order(OrderRequest(a, SYMBOL, Side.BUY, 1, "same-id"))
    with pytest.raises(OrderRejected):
        await venue.broker.place_order(OrderRequest(a, SYMBOL, Side.BUY, 1, "same-id"))
    await venue.broker.place_order(OrderRequest(b, SYMBOL, Side.BUY, 1, "same-id"))
    assert (await venue.broker.get_position(a, SYMBOL)).net_pos == 1


async def test_unknown_instrument_is_rejected(venue: Venue) -> None:
    acct = venue.accounts[0]
    with pytest.raises(OrderRejected) as info:
        await venue.broker.place_order(OrderRequest(acct, "XYZZ6", Side.BUY, 1, "x-1"))
    assert info.value.reason == "InvalidContract"
    assert await venue.broker.list_fills(acct) == []


async def test_stop_on_the_wrong_side_of_the_market_is_rejected(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    req = market(acct, Side.BUY, 1, order_type=OrderType.STOP, stop_price=D("20990"))
    with pytest.raises(OrderRejected) as info:
        await venue.broker.place_order(req)
    assert info.value.reason == "InvalidPrice"


async def test_cash_balance_shows_open_and_realized_pnl(venue: Venue) -> None:
    acct = venue.accounts[0]
    start = await venue.broker.get_cash_balance(acct)
    await venue.set_price("21000")
    await venue.broker.place_order(market(acct, Side.SELL, 2))
    await venue.set_price("20990")
    mid = await venue.broker.get_cash_balance(acct)
    assert (mid.open_pnl, mid.realized_pnl) == (D("40"), D("0"))
    assert mid.net_liq == start.cash + D("40")
    await venue.broker.place_order(market(acct, Side.BUY, 1))
    end = await venue.broker.get_cash_balance(acct)
    assert (end.realized_pnl, end.open_pnl, end.cash) == (D("20"), D("20"), start.cash + 20)


async def test_trailing_stop_order_follows_the_price(venue: Venue) -> None:
    acct = venue.accounts[0]
    await venue.set_price("21000")
    await venue.broker.place_order(market(acct, Side.SELL, 1))
    req = market(
        acct,
        Side.BUY,
        1,
        order_type=OrderType.TRAILING_STOP,
        stop_price=D("21008"),
        trail_offset=D("8"),
    )
    await venue.broker.place_order(req)
    await venue.set_price("20990")
    [stop] = await venue.broker.list_orders(acct)
    assert (stop.order_type, stop.stop_price) == (OrderType.TRAILING_STOP, D("20998"))
    await venue.set_price("20998.5")
    assert (await venue.broker.get_position(acct, SYMBOL)).is_flat


async def test_the_same_bracket_client_order_id_is_refused(venue: Venue) -> None:
    acct = venue.accounts[0]
    legs = (
        BracketLeg(1, take_profit=D("5"), stop_loss=D("5")),
        BracketLeg(1, take_profit=D("9"), stop_loss=D("5")),
    )
    req = BracketRequest(acct, SYMBOL, Side.BUY, legs, "dup-bracket")
    await venue.broker.place_bracket(req)
    with pytest.raises(OrderRejected):
        await venue.broker.place_bracket(req)
    assert (await venue.broker.get_position(acct, SYMBOL)).net_pos == 2
