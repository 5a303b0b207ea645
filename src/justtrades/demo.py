"""`justtrades demo`: the whole product on one machine with nothing to configure.

Starts the Tradovate simulator in process, migrates the SQLite file under ./data, seeds a demo
user, an API key, a connection to the simulator with its 3 accounts, the strategy "Demo MNQ"
(MNQ, 1 contract, TP 40 ticks, SL 20 ticks) and a trader on each account (multipliers 1, 2, 3),
then serves the API on 127.0.0.1:8000 and prints a ready curl line.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from justtrades.admin import create_api_key, create_user, link_connection, user_by_email
from justtrades.app import Services, create_app, setup_logging
from justtrades.clock import SystemClock
from justtrades.config import Settings
from justtrades.crypto import new_webhook_token
from justtrades.execution.settings import RiskSettings, TpTarget
from justtrades.models import Account, BrokerConnection, Strategy, Trader, User
from justtrades.models.db import upgrade
from justtrades.sim.exchange import Exchange
from justtrades.sim.runner import SimServer
from justtrades.sim.server import create_sim_app

DEMO_EMAIL = "demo@justtrades.local"
DEMO_PASSWORD = "demo-password"
CONNECTION_NAME = "Demo simulator"
STRATEGY_NAME = "Demo MNQ"
DEMO_SETTINGS = RiskSettings(
    initial_position_size=1,
    tp_targets=[TpTarget(ticks=Decimal(40), trim=Decimal(100))],
    tp_units="ticks",
    trim_units="percent",
    sl_enabled=True,
    sl_amount=Decimal(20),
    sl_units="ticks",
)


async def seed(svc: Services, sim_api_url: str) -> tuple[User, str, Strategy]:
    """Idempotent: a second run reuses the user, the strategy (and its webhook URL) and the
    traders; it issues a new API key and points the connection at this run's simulator."""
    async with svc.sessions() as s:
        user = await user_by_email(s, DEMO_EMAIL) or await create_user(
            s, svc.clock, DEMO_EMAIL, DEMO_PASSWORD
        )
        key = await create_api_key(s, svc.clock, user, "demo")
        accounts = await _connection_accounts(s, svc, user, sim_api_url)
        strategy = await _strategy(s, svc, user)
        await _traders(s, svc, user, strategy, accounts)
        await s.commit()
        svc.engine.traders.invalidate()
        return user, key, strategy


async def _connection_accounts(
    s: AsyncSession, svc: Services, user: User, sim_api_url: str
) -> list[Account]:
    conn = (
        (
            await s.execute(
                select(BrokerConnection).where(
                    BrokerConnection.user_id == user.id, BrokerConnection.name == CONNECTION_NAME
                )
            )
        )
        .scalars()
        .first()
    )
    if conn is None:
        _, accounts = await link_connection(
            s,
            svc.clock,
            svc.box,
            svc.registry,
            user,
            broker="tradovate",
            name=CONNECTION_NAME,
            environment="custom",
            base_url=sim_api_url,
            secret={"username": "demo", "password": "demo", "app_id": "JustTrades demo"},
        )
        return accounts
    conn.base_url = sim_api_url  # a new simulator each run; same accounts (deterministic ids)
    conn.updated_at = svc.clock.now()
    rows = await s.execute(
        select(Account).where(Account.connection_id == conn.id).order_by(col(Account.id))
    )
    return list(rows.scalars())


async def _strategy(s: AsyncSession, svc: Services, user: User) -> Strategy:
    assert user.id is not None
    found = (
        (
            await s.execute(
                select(Strategy).where(Strategy.user_id == user.id, Strategy.name == STRATEGY_NAME)
            )
        )
        .scalars()
        .first()
    )
    if found is not None:
        return found
    now = svc.clock.now()
    strategy = Strategy(
        user_id=user.id,
        name=STRATEGY_NAME,
        symbol="MNQ1!",
        enabled=True,
        webhook_token=new_webhook_token(),
        settings=DEMO_SETTINGS.model_dump(mode="json", exclude_none=True),
        created_at=now,
        updated_at=now,
    )
    s.add(strategy)
    await s.flush()
    return strategy


async def _traders(
    s: AsyncSession, svc: Services, user: User, strategy: Strategy, accounts: list[Account]
) -> None:
    assert user.id is not None and strategy.id is not None
    existing = {
        t.account_id
        for t in (await s.execute(select(Trader).where(Trader.strategy_id == strategy.id)))
        .scalars()
        .all()
    }
    now = svc.clock.now()
    for multiplier, account in enumerate(accounts[:3], 1):
        assert account.id is not None
        if account.id not in existing:
            s.add(
                Trader(
                    user_id=user.id,
                    strategy_id=strategy.id,
                    account_id=account.id,
                    enabled=True,
                    multiplier=Decimal(multiplier),
                    settings={},
                    created_at=now,
                    updated_at=now,
                )
            )
    await s.flush()


def banner(settings: Settings, key: str, strategy: Strategy, sim: SimServer) -> str:
    url = f"{settings.base_url}/webhook/{strategy.webhook_token}"
    return f"""
Just Trades demo is running on {settings.base_url}   (API docs: {settings.base_url}/docs)
  Tradovate simulator:  {sim.api_url}   (control API: {sim.base_url}/_sim)
  Login:                {DEMO_EMAIL} / {DEMO_PASSWORD}
  API key:              {key}
  Webhook URL:          {url}

Fire an alert (buy 1 MNQ on each account x1, x2, x3; TP 40 ticks, SL 20 ticks):
  curl -s -X POST {url} -H 'Content-Type: application/json' -d '{{"action":"buy","ticker":"MNQ1!"}}'
See the positions and their working TP/SL:
  curl -s {settings.base_url}/api/v1/positions -H 'Authorization: Bearer {key}'
And what happened, call by call:
  curl -s '{settings.base_url}/api/v1/signals?limit=1' -H 'Authorization: Bearer {key}'
Close everything:
  curl -s -X POST {url} -d 'close MNQ1!'
"""


async def run_demo(settings: Settings, sim_port: int = 8700) -> None:
    setup_logging(settings)
    sim = SimServer(create_sim_app(Exchange(SystemClock(), seed=1, accounts=3)), port=sim_port)
    try:
        await sim.start()
    except (OSError, SystemExit):
        sim = SimServer(create_sim_app(Exchange(SystemClock(), seed=1, accounts=3)), port=0)
        await sim.start()
    try:
        await upgrade(settings.database_url)
        app = create_app(settings)
        svc: Services = app.state.services
        _, key, strategy = await seed(svc, sim.api_url)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_config=None,
                log_level="warning",
                access_log=False,
            )
        )
        print(banner(settings, key, strategy, sim), flush=True)
        await server.serve()
    finally:
        with contextlib.suppress(Exception):
            await sim.stop()
