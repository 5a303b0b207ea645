"""The Broker contract: one async protocol, typed requests and results, typed errors.

Outcome policy (every caller relies on it):

- `OrderRejected` is definitive: the broker said no (failureReason, violations, errorText, an
  unknown contract, an HTTP 4xx that is not about auth or rate). Nothing happened; the
  request may be corrected, never blindly re-sent.
- `UnknownOutcome` means the request was sent and its fate is unknown: a timeout or transport
  error after sending, an HTTP 5xx, or a 429 on an order-changing call. The order may exist.
  It is NEVER re-sent; reconciliation settles it with `find_order(account_id, client_order_id)`.
- `RateLimited` and `BrokerUnavailable` mean the request was not sent (a local cooldown after a
  429, a refused connection) or was a read: safe to try again later.
- `AuthFailed` means the credentials were refused; `AuthExpired` that a session could not be
  renewed. Neither sent the request.

Client order ids are unique per account; the broker (paper, simulator) refuses a reused one.
Prices are `Decimal`; adapters round them to the instrument's tick before sending.
Account and order ids are the broker's own, as strings.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from justtrades.instruments import in_price_range


class Side(StrEnum):
    BUY = "Buy"
    SELL = "Sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """Every order type Tradovate documents; a broker may report any of them."""

    MARKET = "Market"
    LIMIT = "Limit"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"
    TRAILING_STOP = "TrailingStop"
    TRAILING_STOP_LIMIT = "TrailingStopLimit"
    MIT = "MIT"
    QTS = "QTS"


SENDABLE_TYPES = frozenset(
    {
        OrderType.MARKET,
        OrderType.LIMIT,
        OrderType.STOP,
        OrderType.STOP_LIMIT,
        OrderType.TRAILING_STOP,
    }
)
MAX_CLIENT_ORDER_ID = 60  # Tradovate allows 64; bracket exits append "-x1", "-x2"


# "ActiveStrategy": a broker order strategy whose orders are not known yet (see find_order)
WORKING_STATUSES = frozenset(
    {"Working", "Suspended", "PendingNew", "PendingReplace", "ActiveStrategy"}
)


def new_client_order_id(prefix: str = "jt") -> str:
    """A fresh client order id (at most 64 characters, as Tradovate allows)."""
    return f"{prefix}-{secrets.token_hex(10)}"


# --- errors ----------------------------------------------------------------------------------


class BrokerError(Exception):
    """Base of every broker failure. `str(error)` is the broker's own words where it gave any."""


class OrderRejected(BrokerError):
    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(f"{reason}: {text}" if text else reason)
        self.reason = reason
        self.text = text


class UnknownOutcome(BrokerError):
    def __init__(self, what: str, client_order_id: str | None = None) -> None:
        super().__init__(what)
        self.client_order_id = client_order_id


def outcome_of(error: BaseException) -> str:
    """How a call that raised ended: rejected (definitive broker evidence), unknown (it may
    have happened: settle by client order id), cancelled, or failed."""
    if isinstance(error, OrderRejected):
        return "rejected"
    if isinstance(error, UnknownOutcome):
        return "unknown"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return "failed"


class RateLimited(BrokerError):
    def __init__(self, retry_after_secs: float, what: str = "rate limited") -> None:
        super().__init__(f"{what}; retry after {retry_after_secs:.0f} s")
        self.retry_after_secs = retry_after_secs


class BrokerUnavailable(BrokerError):
    pass


class AuthFailed(BrokerError):
    pass


class AuthExpired(BrokerError):
    pass


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountInfo:
    account_id: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Position:
    account_id: str
    symbol: str
    net_pos: int  # signed: long > 0, short < 0
    avg_price: Decimal | None  # average price of the open position

    @property
    def is_flat(self) -> bool:
        return self.net_pos == 0


@dataclass(frozen=True, slots=True)
class OrderReport:
    order_id: str
    account_id: str
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    status: str  # the broker's status word (Tradovate ordStatus)
    price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None
    parent_id: str | None = None
    linked_id: str | None = None

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATUSES


@dataclass(frozen=True, slots=True)
class FillReport:
    fill_id: str
    order_id: str
    account_id: str
    symbol: str
    side: Side
    qty: int
    price: Decimal
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class CashBalance:
    account_id: str
    cash: Decimal
    realized_pnl: Decimal
    open_pnl: Decimal
    net_liq: Decimal


@dataclass(frozen=True, slots=True)
class OrderAck:
    order_id: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class BracketAck:
    client_order_id: str
    entry_order_id: str | None = None  # known at once for OSO brackets
    strategy_id: str | None = None  # multi-leg brackets run as a broker order strategy
    exit_order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlattenAck:
    order_id: str | None  # the closing order; None when there was nothing to close


# --- requests ----------------------------------------------------------------------------------


class InvalidRequest(ValueError):
    """A request that can never be valid; raised before anything is sent."""


def _client_order_id(value: str) -> None:
    if not value or len(value) > MAX_CLIENT_ORDER_ID:
        raise InvalidRequest(f"client_order_id must be 1 to {MAX_CLIENT_ORDER_ID} characters")


def _positive(name: str, value: Decimal | None) -> None:
    if value is not None and (not in_price_range(value) or value <= 0):
        raise InvalidRequest(f"{name} must be a positive price below 10^9, got {value}")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    account_id: str
    symbol: str
    side: Side
    qty: int
    client_order_id: str
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None  # Limit, StopLimit
    stop_price: Decimal | None = None  # Stop, StopLimit, TrailingStop
    trail_offset: Decimal | None = None  # TrailingStop: distance in price points
    time_in_force: str = "Day"

    def __post_init__(self) -> None:
        if self.qty < 1:
            raise InvalidRequest(f"qty must be at least 1, got {self.qty}")
        _client_order_id(self.client_order_id)
        t = self.order_type
        if t not in SENDABLE_TYPES:
            raise InvalidRequest(f"{t} orders are not supported")
        if t in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise InvalidRequest(f"{t} needs a price")
        stops = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)
        if t in stops and self.stop_price is None:
            raise InvalidRequest(f"{t} needs a stop_price")
        _positive("price", self.price)
        _positive("stop_price", self.stop_price)
        _positive("trail_offset", self.trail_offset)


@dataclass(frozen=True, slots=True)
class BracketLeg:
    """One exit leg: distances in price points from the entry fill, always positive."""

    qty: int
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    trailing: bool = False  # the stop trails at `stop_loss` distance from the start
    trail_trigger: Decimal | None = None  # auto-trail: profit (points) before trailing starts
    trail_step: Decimal | None = None  # auto-trail: minimum step (points)

    def __post_init__(self) -> None:
        if self.qty < 1:
            raise InvalidRequest(f"leg qty must be at least 1, got {self.qty}")
        _positive("take_profit", self.take_profit)
        _positive("stop_loss", self.stop_loss)
        if (self.trailing or self.trail_trigger is not None) and self.stop_loss is None:
            raise InvalidRequest("a trailing leg needs stop_loss (the trail distance)")
        if self.trail_trigger is not None and self.trail_trigger < 0:
            raise InvalidRequest("trail_trigger must not be negative")
        _positive("trail_step", self.trail_step)

    @property
    def auto_trail(self) -> bool:
        return self.trail_trigger is not None


@dataclass(frozen=True, slots=True)
class BracketRequest:
    """An entry with its exits, placed atomically: the exits go live when the entry fills."""

    account_id: str
    symbol: str
    side: Side
    legs: tuple[BracketLeg, ...]
    client_order_id: str
    entry_type: OrderType = OrderType.MARKET
    entry_price: Decimal | None = None  # Limit / StopLimit entry
    entry_stop: Decimal | None = None  # Stop / StopLimit entry
    # The expected fill of a market entry (last price, the alert's price). With it a single
    # leg can be sent as one OSO order with absolute exit prices; without it, every bracket goes
    # as a broker-side order strategy whose exits are offsets from the real fill.
    reference_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.legs:
            raise InvalidRequest("a bracket needs at least one leg")
        _client_order_id(self.client_order_id)
        if self.entry_type not in (
            OrderType.MARKET,
            OrderType.LIMIT,
            OrderType.STOP,
            OrderType.STOP_LIMIT,
        ):
            raise InvalidRequest(f"a bracket entry cannot be {self.entry_type}")
        if self.entry_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not self.entry_price:
            raise InvalidRequest(f"{self.entry_type} entry needs entry_price")
        if self.entry_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not self.entry_stop:
            raise InvalidRequest(f"{self.entry_type} entry needs entry_stop")
        _positive("reference_price", self.reference_price)

    @property
    def qty(self) -> int:
        return sum(leg.qty for leg in self.legs)


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    account_id: str
    order_id: str
    symbol: str  # the order's contract, for the tick size
    qty: int
    order_type: OrderType
    price: Decimal | None = None
    stop_price: Decimal | None = None

    def __post_init__(self) -> None:
        if self.qty < 1:
            raise InvalidRequest(f"qty must be at least 1, got {self.qty}")
        _positive("price", self.price)
        _positive("stop_price", self.stop_price)


# --- the protocol ------------------------------------------------------------------------------


@runtime_checkable
class Broker(Protocol):
    """What every broker adapter offers. Every method may raise a `BrokerError`."""

    name: str

    async def connect(self) -> None:
        """Authenticate (or check that the broker is reachable)."""

    async def close(self) -> None: ...

    async def list_accounts(self) -> list[AccountInfo]: ...

    async def get_positions(self, account_id: str) -> list[Position]: ...

    async def get_position(self, account_id: str, symbol: str) -> Position:
        """The account's position in one contract; flat (net_pos 0) when it has none."""

    async def list_orders(self, account_id: str, *, working_only: bool = True) -> list[OrderReport]:
        """The account's orders, each with its current price, qty and client order id."""

    async def find_order(self, account_id: str, client_order_id: str) -> OrderReport | None:
        """Reconciliation: the order (or a bracket's entry) sent with that client order id."""

    async def list_fills(self, account_id: str) -> list[FillReport]: ...

    async def get_cash_balance(self, account_id: str) -> CashBalance: ...

    async def place_order(self, request: OrderRequest) -> OrderAck: ...

    async def place_bracket(self, request: BracketRequest) -> BracketAck: ...

    async def cancel_order(self, account_id: str, order_id: str) -> None: ...

    async def modify_order(self, request: ModifyRequest) -> None: ...

    async def flatten(self, account_id: str, symbol: str) -> FlattenAck:
        """Cancel the contract's working orders on the account, then close it at market."""
