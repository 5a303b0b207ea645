"""REST API v1. Every resource is scoped to its owner: reads start from `owned()`/`mine()`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, TypeVar

import httpx
from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel
from sqlmodel import SQLModel, col, select

from justtrades.admin import AdminError, connection_spec, link_connection
from justtrades.api.deps import CurrentUser, Session, Svc
from justtrades.api.schemas import (
    AccountOut,
    BrokerCallOut,
    ConnectionIn,
    ConnectionOut,
    ExecutionOut,
    PositionOut,
    PositionsOut,
    SignalOut,
    StrategyIn,
    StrategyOut,
    StrategyPatch,
    TraderIn,
    TraderOut,
    TraderPatch,
    WorkingOrderOut,
)
from justtrades.crypto import new_webhook_token
from justtrades.execution.engine import entry_of
from justtrades.execution.settings import RiskSettings, SettingsConflict, check_combination
from justtrades.execution.timing import EXECUTION_STAGES
from justtrades.models import (
    Account,
    BrokerCall,
    BrokerConnection,
    Execution,
    Signal,
    Strategy,
    User,
)
from justtrades.models import Trader as TraderRow

router = APIRouter(prefix="/api/v1", tags=["api v1"])
MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
T = TypeVar("T", bound=SQLModel)


async def owned(s: Session, model: type[T], item_id: int, user: User, what: str) -> T:
    row = await s.get(model, item_id)
    if row is None or getattr(row, "user_id", None) != user.id:
        raise HTTPException(404, f"{what} {item_id} not found")
    return row


def url_allowed(url: str, allowed: list[str]) -> bool:
    """Same scheme, host (and port, when the allowed URL names one) as an allowed URL, under
    its path; no user info, which would hide the real host (http://ok-host:@elsewhere/)."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if u.userinfo or u.scheme not in ("http", "https") or not u.host:
        return False
    for entry in allowed:
        try:
            a = httpx.URL(entry)
        except (httpx.InvalidURL, TypeError, ValueError):
            continue
        # an allowed URL without a port allows any port of that host
        same_origin = (u.scheme, u.host) == (a.scheme, a.host) and a.port in (None, u.port)
        under = a.path in ("", "/") or u.path.rstrip("/").startswith(a.path.rstrip("/"))
        if same_origin and under and not a.userinfo:
            return True
    return False


def _stored(settings: RiskSettings) -> dict[str, Any]:
    """Settings as stored: checked for refused combinations, only the values that are set."""
    try:
        check_combination(settings)
    except SettingsConflict as e:
        raise HTTPException(422, str(e)) from None
    return settings.model_dump(mode="json", exclude_none=True)


def _patch(row: SQLModel, body: BaseModel, names: tuple[str, ...]) -> None:
    """Copy the fields a PATCH gives (None: unchanged)."""
    for name in names:
        value = getattr(body, name)
        if value is not None:
            setattr(row, name, value)


# --- connections and accounts ------------------------------------------------------------------


def _account_out(a: Account) -> AccountOut:
    assert a.id is not None
    return AccountOut(
        id=a.id,
        connection_id=a.connection_id,
        broker_account_id=a.broker_account_id,
        name=a.name,
        active=a.active,
    )


def _connection_out(c: BrokerConnection, accounts: list[Account]) -> ConnectionOut:
    assert c.id is not None
    return ConnectionOut(
        id=c.id,
        broker=c.broker,
        name=c.name,
        environment=c.environment,
        base_url=c.base_url,
        username=c.username,
        status=c.status,
        last_error=c.last_error,
        created_at=c.created_at,
        accounts=[_account_out(a) for a in accounts],
    )


@router.post(
    "/connections",
    status_code=201,
    response_model=ConnectionOut,
    summary="Link a broker: logs in and discovers its accounts",
)
async def create_connection(body: ConnectionIn, user: CurrentUser, s: Session, svc: Svc) -> Any:
    allowed = svc.settings.custom_broker_urls
    if body.base_url and not user.is_admin and not url_allowed(body.base_url, allowed):
        # Otherwise any user could make the service call addresses on its own network.
        raise HTTPException(
            422, "base_url is limited to the URLs in JT_CUSTOM_BROKER_URLS (admins: any)"
        )
    secret = body.model_dump(
        include={"username", "password", "app_id", "app_version", "cid", "sec", "device_id"},
        exclude_none=True,
    )
    try:
        conn, accounts = await link_connection(
            s,
            svc.clock,
            svc.box,
            svc.registry,
            user,
            broker=body.broker,
            name=body.name,
            environment=body.environment,
            base_url=body.base_url,
            secret=secret,
        )
    except AdminError as e:
        raise HTTPException(422, str(e)) from None
    await s.commit()
    svc.engine.traders.invalidate()  # new accounts
    return _connection_out(conn, accounts)


@router.get("/connections", response_model=list[ConnectionOut])
async def list_connections(user: CurrentUser, s: Session) -> Any:
    conns = (
        (
            await s.execute(
                select(BrokerConnection)
                .where(BrokerConnection.user_id == user.id)
                .order_by(col(BrokerConnection.id))
            )
        )
        .scalars()
        .all()
    )
    accounts = (
        (
            await s.execute(
                select(Account).where(Account.user_id == user.id).order_by(col(Account.id))
            )
        )
        .scalars()
        .all()
    )
    return [_connection_out(c, [a for a in accounts if a.connection_id == c.id]) for c in conns]


@router.get("/accounts", response_model=list[AccountOut])
async def list_accounts(user: CurrentUser, s: Session) -> Any:
    rows = (
        (
            await s.execute(
                select(Account).where(Account.user_id == user.id).order_by(col(Account.id))
            )
        )
        .scalars()
        .all()
    )
    return [_account_out(a) for a in rows]


# --- strategies --------------------------------------------------------------------------------


def _strategy_out(row: Strategy, svc: Svc) -> StrategyOut:
    assert row.id is not None
    return StrategyOut(
        id=row.id,
        name=row.name,
        symbol=row.symbol,
        enabled=row.enabled,
        settings=RiskSettings.model_validate(row.settings or {}),
        webhook_url=f"{svc.settings.base_url}/webhook/{row.webhook_token}",
        created_at=row.created_at,
    )


@router.post("/strategies", status_code=201, response_model=StrategyOut)
async def create_strategy(body: StrategyIn, user: CurrentUser, s: Session, svc: Svc) -> Any:
    settings = _stored(body.settings)
    assert user.id is not None
    now = svc.clock.now()
    row = Strategy(
        user_id=user.id,
        name=body.name,
        symbol=body.symbol,
        enabled=body.enabled,
        webhook_token=new_webhook_token(),
        settings=settings,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    await s.commit()
    svc.engine.cache.put(entry_of(row))
    return _strategy_out(row, svc)


@router.get("/strategies", response_model=list[StrategyOut])
async def list_strategies(user: CurrentUser, s: Session, svc: Svc) -> Any:
    rows = (
        (
            await s.execute(
                select(Strategy).where(Strategy.user_id == user.id).order_by(col(Strategy.id))
            )
        )
        .scalars()
        .all()
    )
    return [_strategy_out(r, svc) for r in rows]


@router.get("/strategies/{strategy_id}", response_model=StrategyOut)
async def get_strategy(strategy_id: Id, user: CurrentUser, s: Session, svc: Svc) -> Any:
    return _strategy_out(await owned(s, Strategy, strategy_id, user, "strategy"), svc)


@router.patch("/strategies/{strategy_id}", response_model=StrategyOut)
async def update_strategy(
    strategy_id: Id, body: StrategyPatch, user: CurrentUser, s: Session, svc: Svc
) -> Any:
    row = await owned(s, Strategy, strategy_id, user, "strategy")
    _patch(row, body, ("name", "symbol", "enabled"))
    if body.settings is not None:
        row.settings = _stored(body.settings)
    if body.rotate_token:
        row.webhook_token = new_webhook_token()
    row.updated_at = svc.clock.now()
    await s.commit()
    svc.engine.cache.put(entry_of(row))
    return _strategy_out(row, svc)


@router.delete("/strategies/{strategy_id}", status_code=204)
async def delete_strategy(strategy_id: Id, user: CurrentUser, s: Session, svc: Svc) -> Response:
    row = await owned(s, Strategy, strategy_id, user, "strategy")
    await s.delete(row)
    await s.commit()
    svc.engine.cache.drop(strategy_id)
    svc.engine.traders.invalidate(strategy_id)
    return Response(status_code=204)


# --- traders -----------------------------------------------------------------------------------


def _trader_out(row: TraderRow) -> TraderOut:
    assert row.id is not None
    return TraderOut(
        id=row.id,
        strategy_id=row.strategy_id,
        account_id=row.account_id,
        enabled=row.enabled,
        multiplier=row.multiplier,
        settings=RiskSettings.model_validate(row.settings or {}),
    )


@router.post("/traders", status_code=201, response_model=TraderOut)
async def create_trader(body: TraderIn, user: CurrentUser, s: Session, svc: Svc) -> Any:
    await owned(s, Strategy, body.strategy_id, user, "strategy")
    await owned(s, Account, body.account_id, user, "account")
    settings = _stored(body.settings)
    taken = (
        await s.execute(
            select(TraderRow).where(
                TraderRow.strategy_id == body.strategy_id,
                TraderRow.account_id == body.account_id,
            )
        )
    ).first()
    if taken is not None:
        raise HTTPException(409, "this account already trades this strategy")
    assert user.id is not None
    now = svc.clock.now()
    row = TraderRow(
        user_id=user.id,
        strategy_id=body.strategy_id,
        account_id=body.account_id,
        enabled=body.enabled,
        multiplier=body.multiplier,
        settings=settings,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    await s.commit()  # committed before the answer: a 201 means it is stored
    svc.engine.traders.invalidate(body.strategy_id)
    return _trader_out(row)


@router.get("/traders", response_model=list[TraderOut])
async def list_traders(user: CurrentUser, s: Session) -> Any:
    rows = (
        (
            await s.execute(
                select(TraderRow).where(TraderRow.user_id == user.id).order_by(col(TraderRow.id))
            )
        )
        .scalars()
        .all()
    )
    return [_trader_out(r) for r in rows]


@router.get("/traders/{trader_id}", response_model=TraderOut)
async def get_trader(trader_id: Id, user: CurrentUser, s: Session) -> Any:
    return _trader_out(await owned(s, TraderRow, trader_id, user, "trader"))


@router.patch("/traders/{trader_id}", response_model=TraderOut)
async def update_trader(
    trader_id: Id, body: TraderPatch, user: CurrentUser, s: Session, svc: Svc
) -> Any:
    row = await owned(s, TraderRow, trader_id, user, "trader")
    _patch(row, body, ("enabled", "multiplier"))
    if body.settings is not None:
        row.settings = _stored(body.settings)
    row.updated_at = svc.clock.now()
    await s.commit()
    svc.engine.traders.invalidate(row.strategy_id)
    return _trader_out(row)


@router.delete("/traders/{trader_id}", status_code=204)
async def delete_trader(trader_id: Id, user: CurrentUser, s: Session, svc: Svc) -> Response:
    row = await owned(s, TraderRow, trader_id, user, "trader")
    strategy_id = row.strategy_id
    await s.delete(row)
    await s.commit()
    svc.engine.traders.invalidate(strategy_id)
    return Response(status_code=204)


# --- signals and positions ---------------------------------------------------------------------


def _signal_timings(row: Signal, executions: list[ExecutionOut] | None) -> dict[str, Any]:
    """The signal's own stages, then its traders' (the first to reach each; the last order)."""
    out: dict[str, Any] = {"received_at": row.received_at.isoformat(), **(row.timings or {})}
    for stage in EXECUTION_STAGES:
        key = f"{stage}_ms"
        values = [e.timings[key] for e in executions or [] if e.timings and key in e.timings]
        if values:
            out[key] = max(values) if stage == "last_order_acknowledged" else min(values)
    return out


def _signal_out(row: Signal, executions: list[ExecutionOut] | None = None) -> SignalOut:
    assert row.id is not None
    return SignalOut(
        timings=_signal_timings(row, executions),
        id=row.id,
        strategy_id=row.strategy_id,
        received_at=row.received_at,
        status=row.status,
        status_reason=row.status_reason,
        error=row.error,
        intent=row.intent,
        body=row.body,
        finished_at=row.finished_at,
        executions=executions,
    )


@router.get("/signals", response_model=list[SignalOut])
async def list_signals(
    user: CurrentUser, s: Session, strategy_id: QueryId = None, limit: int = 50
) -> Any:
    query = select(Signal).where(Signal.user_id == user.id)
    if strategy_id is not None:
        query = query.where(Signal.strategy_id == strategy_id)
    limit = max(1, min(limit, 500))
    # Newest arrival first: received_at is stamped when the webhook arrives (before its first
    # await); ids follow the INSERTs' order, which PostgreSQL does not keep (ties: id).
    newest = query.order_by(col(Signal.received_at).desc(), col(Signal.id).desc())
    rows = (await s.execute(newest.limit(limit))).scalars().all()
    return [_signal_out(r) for r in rows]


@router.get(
    "/signals/{signal_id}",
    response_model=SignalOut,
    summary="A signal with, per trader, the plan and every broker call",
)
async def get_signal(signal_id: Id, user: CurrentUser, s: Session) -> Any:
    row = await owned(s, Signal, signal_id, user, "signal")
    executions = (
        (
            await s.execute(
                select(Execution)
                .where(Execution.signal_id == signal_id)
                .order_by(col(Execution.id))
            )
        )
        .scalars()
        .all()
    )
    ids = [e.id for e in executions]
    calls = (
        (
            await s.execute(
                select(BrokerCall)
                .where(col(BrokerCall.execution_id).in_(ids))
                .order_by(col(BrokerCall.execution_id), col(BrokerCall.seq))  # call order
            )
        )
        .scalars()
        .all()
        if ids
        else []
    )
    out = []
    for e in executions:
        assert e.id is not None
        out.append(
            ExecutionOut(
                id=e.id,
                trader_id=e.trader_id,
                account_id=e.account_id,
                symbol=e.symbol,
                status=e.status,
                plan=e.plan,
                result=e.result,
                error=e.error,
                created_at=e.created_at,
                finished_at=e.finished_at,
                timings=e.timings,
                broker_calls=[
                    BrokerCallOut.model_validate(c, from_attributes=True)
                    for c in calls
                    if c.execution_id == e.id
                ],
            )
        )
    return _signal_out(row, out)


@router.get(
    "/positions",
    response_model=PositionsOut,
    summary="Open positions and working orders, asked of the brokers now",
)
async def positions(user: CurrentUser, s: Session, svc: Svc) -> Any:
    rows = (
        await s.execute(
            select(Account, BrokerConnection)
            .join(BrokerConnection, col(Account.connection_id) == col(BrokerConnection.id))
            .where(Account.user_id == user.id, Account.active == True)  # noqa: E712
            .order_by(col(Account.id))
        )
    ).all()

    async def one(account: Account, conn: BrokerConnection) -> list[PositionOut]:
        assert account.id is not None and conn.id is not None
        spec = connection_spec(conn)
        broker = svc.registry.get(spec)
        held = await broker.get_positions(account.broker_account_id)
        orders = await broker.list_orders(account.broker_account_id)
        symbols = sorted({p.symbol for p in held} | {o.symbol for o in orders})
        by_symbol = {p.symbol: p for p in held}
        return [
            PositionOut(
                account_id=account.id,
                account_name=account.name,
                symbol=sym,
                net_pos=by_symbol[sym].net_pos if sym in by_symbol else 0,
                avg_price=by_symbol[sym].avg_price if sym in by_symbol else None,
                working_orders=[
                    WorkingOrderOut(
                        order_id=o.order_id,
                        side=o.side.value,
                        qty=o.qty,
                        order_type=o.order_type.value,
                        price=o.price,
                        stop_price=o.stop_price,
                        status=o.status,
                    )
                    for o in orders
                    if o.symbol == sym
                ],
            )
            for sym in symbols
        ]

    results = await asyncio.gather(*(one(a, c) for a, c in rows), return_exceptions=True)
    out = PositionsOut(positions=[])
    for (account, _), result in zip(rows, results, strict=True):
        if isinstance(result, BaseException):
            out.errors[str(account.id)] = f"{type(result).__name__}: {result}"
        else:
            out.positions.extend(result)
    return out
