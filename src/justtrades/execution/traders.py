"""The traders of each strategy, kept in memory: dispatch reads no database.

Loaded on first use per strategy, dropped by whatever changes a trader, an account or a broker
connection (the REST API and the demo call `invalidate` after they commit), so a setting saved
through the API applies to the next signal. Nothing else writes those tables while the service
runs (the CLI creates users and API keys only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from justtrades.admin import connection_spec
from justtrades.brokers.registry import ConnectionSpec
from justtrades.execution.intake import StrategyEntry
from justtrades.execution.jobs import TraderJob
from justtrades.execution.overrides import alert_layer
from justtrades.execution.settings import (
    EffectiveSettings,
    RiskSettings,
    SettingsConflict,
    effective_settings,
)
from justtrades.execution.signal import SignalIntent
from justtrades.instruments import Contract, UnknownInstrument, resolve
from justtrades.models import Account, BrokerConnection, Trader


@dataclass(frozen=True)
class TraderEntry:
    """What dispatch needs of one enabled trader, its account and its connection."""

    trader_id: int
    account_id: int
    broker_account_id: str
    account_active: bool
    multiplier: Decimal
    settings: RiskSettings
    connection: ConnectionSpec
    broker_key: tuple[str, ...]  # the broker account itself, whatever rows name it


class TraderCache:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._entries: dict[int, list[TraderEntry]] = {}
        self._ids: dict[int, frozenset[int]] = {}
        # (strategy settings, trader entry, alert overrides, day) -> that trader's job: a
        # fan-out to 200 accounts merges 200 settings once, not at every signal.
        self.jobs_memo: Memo = {}
        self._generation = 0
        self.loads = 0  # database reads made (for tests)

    def invalidate(self, strategy_id: int | None = None) -> None:
        """Forget one strategy's traders, or all (an account or a connection changed)."""
        self._generation += 1
        self.jobs_memo.clear()
        if strategy_id is None:
            self._entries.clear()
            self._ids.clear()
        else:
            self._entries.pop(strategy_id, None)
            self._ids.pop(strategy_id, None)

    async def of(self, strategy_id: int) -> list[TraderEntry]:
        found = self._entries.get(strategy_id)
        if found is not None:
            return found
        generation = self._generation
        entries = await self._load(strategy_id)
        if generation == self._generation:  # not changed while it was being read
            self._entries[strategy_id] = entries
        return entries

    async def trades(self, strategy_id: int, trader_id: int) -> bool:
        """Still enabled and bound to the strategy (asked again at a trader's lane turn: a
        trader disabled or deleted while its signal waited is not traded)."""
        ids = self._ids.get(strategy_id)
        if ids is None or strategy_id not in self._entries:
            ids = frozenset(e.trader_id for e in await self.of(strategy_id))
            if strategy_id in self._entries:
                self._ids[strategy_id] = ids
        return trader_id in ids

    async def _load(self, strategy_id: int) -> list[TraderEntry]:
        self.loads += 1
        async with self.sessions() as s:
            rows = (
                await s.execute(
                    select(Trader, Account, BrokerConnection)
                    .join(Account, col(Trader.account_id) == col(Account.id))
                    .join(BrokerConnection, col(Account.connection_id) == col(BrokerConnection.id))
                    .where(Trader.strategy_id == strategy_id, Trader.enabled == True)  # noqa: E712
                    .order_by(col(Trader.id))
                )
            ).all()
        entries = []
        for trader, account, conn in rows:
            assert trader.id is not None and account.id is not None
            entries.append(
                TraderEntry(
                    trader.id,
                    account.id,
                    account.broker_account_id,
                    account.active,
                    Decimal(trader.multiplier),
                    RiskSettings.model_validate(trader.settings or {}),
                    connection_spec(conn),
                    (conn.broker, conn.environment, conn.base_url or "", account.broker_account_id),
                )
            )
        return entries


MEMO_LIMIT = 20_000
Memo = dict[tuple[Any, ...], tuple[StrategyEntry, TraderEntry, TraderJob | None]]


def trader_jobs(
    strategy: StrategyEntry,
    intent: SignalIntent,
    entries: list[TraderEntry],
    today: date,
    memo: Memo | None = None,
) -> list[TraderJob]:
    """Each trader's settings for this signal (strategy, trader, alert), its contract, or the
    problem that keeps it from trading; one job per broker account. With `memo`, a trader's
    job is computed once per (strategy settings, trader, alert overrides, ticker, day): the
    values are immutable, and the memo is cleared whenever a trader or strategy changes."""
    overrides = intent.overrides.model_dump(exclude_none=True)
    alert = alert_layer(overrides)
    shape = (id(strategy), json.dumps(overrides, sort_keys=True, default=str), intent.ticker, today)
    if memo is not None and len(memo) > MEMO_LIMIT:
        memo.clear()
    jobs: list[TraderJob] = []
    for entry in entries:
        key = (*shape, id(entry))
        held = memo.get(key) if memo is not None else None
        if held is not None and held[0] is strategy and held[1] is entry:  # the same objects
            if held[2] is not None:
                jobs.append(held[2])
            continue
        job = _job(strategy, intent, entry, alert, today)
        if memo is not None:
            memo[key] = (strategy, entry, job)  # held: their ids cannot be reused meanwhile
        if job is not None:
            jobs.append(job)
    return _one_per_account(jobs)


def _job(
    strategy: StrategyEntry,
    intent: SignalIntent,
    entry: TraderEntry,
    alert: Any,
    today: date,
) -> TraderJob | None:
    problem: str | None = None
    eff: EffectiveSettings | None = None
    contract: Contract | None = None
    try:
        eff = effective_settings(strategy.settings, entry.settings, alert, entry.multiplier)
        symbol = eff.custom_ticker or intent.ticker or strategy.symbol
        contract = resolve(symbol, today)
    except (SettingsConflict, ValidationError, ValueError) as e:
        problem = str(e)
    except UnknownInstrument as e:
        problem = f"unknown instrument: {e}"
    if eff is not None and not eff.enabled:
        return None  # disabled through its settings: not traded, like enabled = false
    if not entry.account_active:
        problem = "account inactive"
    return TraderJob(
        entry.trader_id,
        entry.account_id,
        entry.broker_account_id,
        entry.connection,
        eff,
        contract,
        problem,
        entry.broker_key,
    )


def _one_per_account(jobs: list[TraderJob]) -> list[TraderJob]:
    # One broker account trades once per signal, even when it is bound to two traders or
    # linked through two connections (keyed by the broker's own identity): the first
    # trader that can trade it, else the first one (whose problem is then recorded).
    chosen: dict[tuple[str, ...], TraderJob] = {}
    for tj in jobs:
        held = chosen.get(tj.broker_key)
        if held is None or (held.problem and not tj.problem):
            chosen[tj.broker_key] = tj
    keep = {id(tj) for tj in chosen.values()}
    return [tj for tj in jobs if id(tj) in keep]
