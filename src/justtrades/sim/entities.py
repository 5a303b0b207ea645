"""Tradovate entities as the simulator keeps them.

Attribute names are Tradovate's JSON field names, so `to_json()` is the entity exactly as
`<entity>/item` returns it. Fields marked `internal` are the simulator's own bookkeeping and are
never sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]


def internal(default: Any = None, **kw: Any) -> Any:
    return field(default=default, metadata={"internal": True}, **kw)


def trade_date_json(d: date) -> JSON:
    return {"year": d.year, "month": d.month, "day": d.day}


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, date):
        return trade_date_json(v)
    return v


@dataclass
class Entity:
    id: int

    def to_json(self) -> JSON:
        out: JSON = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("internal"):
                continue
            v = getattr(self, f.name)
            if v is None and f.metadata.get("omit_none", True):
                continue
            out[f.name] = _value(v)
        return out


@dataclass
class User(Entity):
    name: str
    email: str
    timestamp: datetime
    status: str = "Active"
    professional: bool = False
    password: str = internal("", repr=False)


@dataclass
class Account(Entity):
    name: str
    userId: int
    timestamp: datetime
    accountType: str = "Customer"
    active: bool = True
    clearingHouseId: int = 1
    riskCategoryId: int = 1
    autoLiqProfileId: int = 0
    marginAccountType: str = "Speculator"
    legalStatus: str = "Individual"
    archived: bool = False
    readonly: bool = False


@dataclass
class Product(Entity):
    name: str
    description: str
    months: str
    valuePerPoint: Decimal
    tickSize: Decimal
    currencyId: int = 1
    productType: str = "Futures"
    exchangeId: int = 1
    contractGroupId: int = 1
    status: str = "Verified"
    priceFormatType: str = "Decimal"
    priceFormat: int = -2
    isMicro: bool = False


@dataclass
class ContractMaturity(Entity):
    productId: int
    expirationMonth: int
    expirationDate: datetime
    isFront: bool
    archived: bool = False


@dataclass
class Contract(Entity):
    name: str
    contractMaturityId: int
    providerTickSize: Decimal
    status: str = "DefinitionChecked"
    root: str = internal("")


@dataclass
class Order(Entity):
    accountId: int
    contractId: int
    timestamp: datetime
    action: str
    ordStatus: str
    ocoId: int | None = None
    parentId: int | None = None
    linkedId: int | None = None
    admin: bool = False
    cl_ord_id: str | None = internal()
    is_automated: bool = internal(False)
    version_id: int = internal(0)
    strategy_id: int | None = internal()
    filled_qty: int = internal(0)
    triggered: bool = internal(False)  # a StopLimit whose stop has been touched
    # autoTrail on a bracket stop: ticks of profit to start, distance and step, in ticks
    trail_trigger_ticks: int | None = internal()
    trail_distance_ticks: int | None = internal()
    trail_freq_ticks: int | None = internal()
    entry_price: Decimal | None = internal()

    @property
    def is_working(self) -> bool:
        return self.ordStatus in ("Working", "Suspended", "PendingNew")


@dataclass
class OrderVersion(Entity):
    orderId: int
    orderQty: int
    orderType: str
    price: Decimal | None = None
    stopPrice: Decimal | None = None
    pegDifference: Decimal | None = None
    timeInForce: str | None = None
    text: str | None = None


@dataclass
class Command(Entity):
    orderId: int
    timestamp: datetime
    commandType: str
    commandStatus: str
    clOrdId: str | None = None
    isAutomated: bool = False


@dataclass
class Fill(Entity):
    orderId: int
    contractId: int
    timestamp: datetime
    tradeDate: date
    action: str
    qty: int
    price: Decimal
    active: bool = True
    finallyPaired: int = 0
    account_id: int = internal(0)


@dataclass
class Position(Entity):
    accountId: int
    contractId: int
    timestamp: datetime
    tradeDate: date
    netPos: int = 0
    netPrice: Decimal | None = None
    bought: int = 0
    boughtValue: Decimal = Decimal(0)
    sold: int = 0
    soldValue: Decimal = Decimal(0)
    prevPos: int = 0
    prevPrice: Decimal | None = None
    # open lots, oldest first: [fill id, signed qty remaining, price] (FIFO pairing)
    lots: list[list[Any]] = internal(None)
    open_cost: Decimal = internal(Decimal(0))  # sum of qty x price over the open lots


@dataclass
class FillPair(Entity):
    positionId: int
    buyFillId: int
    sellFillId: int
    qty: int
    buyPrice: Decimal
    sellPrice: Decimal
    active: bool = True


@dataclass
class CashBalance(Entity):
    accountId: int
    timestamp: datetime
    tradeDate: date
    amount: Decimal
    realizedPnL: Decimal = Decimal(0)
    weekRealizedPnL: Decimal = Decimal(0)
    currencyId: int = 1


@dataclass
class OrderStrategy(Entity):
    accountId: int
    timestamp: datetime
    contractId: int
    action: str
    params: str
    status: str
    orderStrategyTypeId: int = 2
    uuid: str | None = None
    customTag50: str | None = None
    failureMessage: str | None = None


@dataclass
class OrderStrategyLink(Entity):
    orderStrategyId: int
    orderId: int
    label: str
