"""Every table round-trips its values unchanged on both backends: aware UTC datetimes, exact
Decimals, JSON documents, NULLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from tests.dbfixtures import add_user_rows

from justtrades.models import (
    Account,
    ApiKey,
    BrokerCall,
    BrokerConnection,
    Execution,
    PositionSnapshot,
    Signal,
    Strategy,
    Trader,
    User,
    db,
)
from justtrades.models.base import Base
from justtrades.models.types import UtcDateTime

Sessions = async_sessionmaker[db.AsyncSession]

CHICAGO = ZoneInfo("America/Chicago")
# Given in Chicago time with microseconds: must come back as the same instant, in UTC.
T0 = datetime(2026, 11, 27, 8, 30, 1, 123456, tzinfo=CHICAGO)
SETTINGS: dict[str, Any] = {
    "max_contracts": 3,
    "stop_ticks": 0,
    "tp": [{"ticks": 20, "qty": 1}, {"ticks": 40, "qty": 2}],
    "time_filter": None,
    "reverse": False,
    "ratio": 1.5,
    "note": "été ✓",
}


async def _every_row(session: db.AsyncSession) -> list[Base]:
    """One row per table, every column given a value that is not its default."""
    user = User(
        email="full@example.com",
        password_hash="$argon2id$v=19$...",
        is_admin=True,
        is_approved=True,
        time_zone="Europe/Paris",
        created_at=T0,
    )
    session.add(user)
    await session.flush()
    assert user.id is not None
    api_key = ApiKey(
        user_id=user.id,
        name="bot",
        prefix="jt_live_abcd",
        key_hash="a" * 64,
        created_at=T0,
        last_used_at=T0 + timedelta(minutes=1),
        revoked_at=T0 + timedelta(days=1),
    )
    connection = BrokerConnection(
        user_id=user.id,
        broker="tradovate",
        name="main",
        environment="custom",
        base_url="https://demo.tradovateapi.com/v1",
        username="trader1",
        credentials_encrypted="v1:nonce:ciphertext",
        token_encrypted="v1:nonce:token",
        token_expires_at=T0 + timedelta(minutes=90),
        status="connected",
        last_error="previous: 401",
        created_at=T0,
        updated_at=T0,
    )
    strategy = Strategy(
        user_id=user.id,
        name="MNQ scalper",
        webhook_token="t" * 64,
        enabled=False,
        symbol="CME_MINI:MNQ1!",
        settings=SETTINGS,
        created_at=T0,
        updated_at=T0,
    )
    session.add_all([api_key, connection, strategy])
    await session.flush()
    assert connection.id is not None and strategy.id is not None
    account = Account(
        user_id=user.id,
        connection_id=connection.id,
        broker_account_id="1234567",
        name="DEMO1234567",
        active=False,
        created_at=T0,
    )
    session.add(account)
    await session.flush()
    assert account.id is not None
    trader = Trader(
        user_id=user.id,
        strategy_id=strategy.id,
        account_id=account.id,
        enabled=False,
        multiplier=Decimal("12345678.1234"),
        settings={"max_contracts": 1},
        created_at=T0,
        updated_at=T0,
    )
    signal = Signal(
        user_id=user.id,
        strategy_id=strategy.id,
        received_at=T0,
        content_type="application/json; charset=utf-8",
        body='{"ticker": "MNQ1!", "action": "buy"}',
        body_hash="b" * 64,
        status="done",
        status_reason="all traders done",
        intent={"action": "buy", "qty": 2, "price": "21000.25"},
        error="one trader skipped",
        finished_at=T0 + timedelta(milliseconds=250),
    )
    snapshot = PositionSnapshot(
        account_id=account.id,
        symbol="MNQZ6",
        net_pos=-3,
        avg_price=Decimal("9999999.12345678"),
        taken_at=T0,
    )
    session.add_all([trader, signal, snapshot])
    await session.flush()
    assert signal.id is not None and trader.id is not None
    execution = Execution(
        signal_id=signal.id,
        trader_id=trader.id,
        account_id=account.id,
        symbol="MNQZ6",
        status="failed",
        plan={"steps": [{"place": "market", "qty": 2}]},
        result="filled 1 of 2",
        error="OrderRejected: insufficient margin",
        created_at=T0,
        finished_at=T0 + timedelta(seconds=1),
    )
    session.add(execution)
    await session.flush()
    assert execution.id is not None
    call = BrokerCall(
        execution_id=execution.id,
        seq=7,
        endpoint="order/placeorder",
        client_order_id="jt-1-7",
        request={"accountId": 1234567, "orderQty": 2},
        response={"failureReason": "InsufficientMargin"},
        outcome="rejected",
        error="insufficient margin",
        latency_ms=12.5,
        started_at=T0,
        finished_at=T0 + timedelta(milliseconds=12, microseconds=500),
    )
    session.add(call)
    await session.flush()
    return [user, api_key, connection, strategy, account, trader, signal, snapshot, execution, call]


def _assert_utc(value: object) -> None:
    if isinstance(value, datetime):
        assert value.utcoffset() == timedelta(0), value
        assert value.tzinfo is UTC, value


async def test_every_table_round_trips(session_factory: Sessions) -> None:
    async with session_factory() as session:
        written = await _every_row(session)
        await session.commit()

    assert {type(row).__tablename__ for row in written} == set(db.metadata.tables)
    async with session_factory() as session:  # a new identity map: values come from the database
        for row in written:
            loaded = await session.get(type(row), row.id)
            assert loaded is not None and loaded is not row
            assert loaded.model_dump() == row.model_dump(), type(row).__name__
            for value in loaded.model_dump().values():
                _assert_utc(value)


async def test_decimals_are_exact_and_rounded_alike(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        rows.trader.multiplier = Decimal("0.33335")  # 5th decimal: rounds half away from zero
        rows.snapshot.avg_price = Decimal("21345.123456785")
        await session.commit()
    async with session_factory() as session:
        trader = await session.get(Trader, rows.trader.id)
        snapshot = await session.get(PositionSnapshot, rows.snapshot.id)
    assert trader is not None and snapshot is not None
    assert isinstance(trader.multiplier, Decimal)
    assert str(trader.multiplier) == "0.3334"
    assert isinstance(snapshot.avg_price, Decimal)
    assert str(snapshot.avg_price) == "21345.12345679"


async def test_defaults(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        await session.commit()
    async with session_factory() as session:
        user = await session.get(User, rows.user.id)
        trader = await session.get(Trader, rows.trader.id)
        connection = await session.get(BrokerConnection, rows.connection.id)
        signal = await session.get(Signal, rows.signal.id)
    assert user is not None and trader is not None and connection is not None
    assert (user.is_admin, user.is_approved, user.time_zone) == (False, False, "America/Chicago")
    assert trader.multiplier == Decimal(2) and trader.enabled is True and trader.settings == {}
    assert connection.status == "new" and connection.token_encrypted is None
    assert signal is not None and signal.intent is None
    assert datetime.now(UTC) - user.created_at < timedelta(minutes=1)


async def test_server_defaults_fill_rows_inserted_without_the_orm(
    session_factory: Sessions,
) -> None:
    # Raw SQL, so that no Python-side default is involved.
    insert = text(
        "INSERT INTO users (email, password_hash, created_at) VALUES ('raw@example.com', 'x', :t)"
    ).bindparams(bindparam("t", T0, type_=UtcDateTime()))
    async with session_factory() as session:
        await session.execute(insert)
        user = (await session.scalars(select(User))).one()
    assert (user.is_admin, user.is_approved, user.time_zone) == (False, False, "America/Chicago")
    assert user.created_at == T0


async def test_update_and_delete(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        await session.commit()
    before = rows.strategy.updated_at
    async with session_factory() as session:
        strategy = await session.get(Strategy, rows.strategy.id)
        assert strategy is not None
        strategy.settings = {**strategy.settings, "max_contracts": 5}
        strategy.enabled = False
        await session.commit()
    async with session_factory() as session:
        strategy = await session.get(Strategy, rows.strategy.id)
        assert strategy is not None
        assert strategy.settings == {"max_contracts": 5} and strategy.enabled is False
        assert strategy.updated_at > before
        await session.delete(strategy)
        await session.commit()
    async with session_factory() as session:
        assert await session.get(Strategy, rows.strategy.id) is None


async def test_json_none_is_sql_null(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        rows.execution.plan = None
        await session.commit()
        nulls = await session.scalar(
            select(func.count()).select_from(Execution).where(col(Execution.plan).is_(None))
        )
        assert nulls == 1


async def test_time_ranges_compare_chronologically(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        for minutes in (0, 5, 10):
            session.add(
                PositionSnapshot(
                    account_id=rows.account.id,
                    symbol="ESZ6",
                    net_pos=minutes,
                    taken_at=T0 + timedelta(minutes=minutes),
                )
            )
        await session.commit()
        since = (T0 + timedelta(minutes=5)).astimezone(ZoneInfo("Asia/Tokyo"))
        found = await session.scalars(
            select(PositionSnapshot.net_pos)
            .where(PositionSnapshot.symbol == "ESZ6", PositionSnapshot.taken_at >= since)
            .order_by(col(PositionSnapshot.taken_at).desc())
        )
        assert found.all() == [10, 5]


async def test_naive_datetimes_are_refused(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        rows.signal.finished_at = datetime(2026, 11, 27, 15, 0)
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()


async def test_floats_are_refused_for_decimals(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        rows.trader.multiplier = 1.1  # type: ignore[assignment]
        with pytest.raises(StatementError, match="not float"):
            await session.flush()


async def test_decimals_beyond_sqlite_precision(session_factory: Sessions, db_backend: str) -> None:
    # 16 significant digits: exact on PostgreSQL, refused (not silently rounded) on SQLite.
    price = Decimal("12345678.12345678")
    async with session_factory() as session:
        rows = await add_user_rows(session)
        rows.snapshot.avg_price = price
        if db_backend == "sqlite":
            with pytest.raises(StatementError, match="SQLite"):
                await session.flush()
            return
        await session.commit()
    async with session_factory() as session:
        snapshot = await session.get(PositionSnapshot, rows.snapshot.id)
        assert snapshot is not None and snapshot.avg_price == price


def test_secrets_stay_out_of_repr() -> None:
    user = User(email="a@example.com", password_hash="HASH")
    key = ApiKey(user_id=1, name="k", prefix="jt_", key_hash="KEYHASH")
    connection = BrokerConnection(
        user_id=1,
        broker="tradovate",
        name="n",
        environment="demo",
        credentials_encrypted="CIPHERTEXT",
        token_encrypted="TOKEN",
    )
    shown = repr(user) + repr(key) + repr(connection)
    for secret in ("HASH", "KEYHASH", "CIPHERTEXT", "TOKEN"):
        assert secret not in shown
