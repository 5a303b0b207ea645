"""REST API v1: broker connections and their accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlmodel import col, select

from justtrades.admin import AdminError, link_connection
from justtrades.api.common import (
    url_allowed,
)
from justtrades.api.deps import CurrentUser, Session, Svc
from justtrades.api.schemas import (
    AccountOut,
    ConnectionIn,
    ConnectionOut,
)
from justtrades.models import (
    Account,
    BrokerConnection,
)

router = APIRouter()


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
