"""REST API v1: strategies and their traders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from sqlmodel import col, select

from justtrades.api.common import (
    Id,
    apply_patch,
    owned,
    stored_settings,
)
from justtrades.api.deps import CurrentUser, Session, Svc
from justtrades.api.schemas import (
    StrategyIn,
    StrategyOut,
    StrategyPatch,
    TraderIn,
    TraderOut,
    TraderPatch,
)
from justtrades.crypto import new_webhook_token
from justtrades.execution.engine import entry_of
from justtrades.execution.settings import RiskSettings
from justtrades.models import (
    Account,
    Strategy,
)
from justtrades.models import Trader as TraderRow

router = APIRouter()


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
    settings = stored_settings(body.settings)
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
    apply_patch(row, body, ("name", "symbol", "enabled"))
    if body.settings is not None:
        row.settings = stored_settings(body.settings)
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
    settings = stored_settings(body.settings)
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
    apply_patch(row, body, ("enabled", "multiplier"))
    if body.settings is not None:
        row.settings = stored_settings(body.settings)
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
