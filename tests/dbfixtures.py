"""Database fixtures: every test that asks for one runs twice, on SQLite and on PostgreSQL.

    async def test_something(session_factory: async_sessionmaker[AsyncSession]) -> None:
        async with session_factory() as session:
            session.add(User(email="a@example.com", password_hash="x"))
            await session.commit()

- `database_url`: the URL of a migrated database holding no rows, fresh for each test. Use it
  to build your own engine or app (dispose the engine at the end of the test).
- `db_engine`: an engine on `database_url` (created by `justtrades.models.db.create_engine`),
  disposed after the test.
- `session_factory`: `async_sessionmaker` on `db_engine` (expire_on_commit=False).
- `empty_database_url`: a database without any table (not even migrated), for migration tests.
- `db_backend`: "sqlite" or "postgresql", the parameter behind all of the above.

How it stays fast: the migrations run once per test session and backend. SQLite: each test gets
a copy of a migrated template file in its tmp_path. PostgreSQL: one database per test session
(`jt_test_<created, hex>_<random>`, made through JT_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test, dropped at the end), emptied before each test.
When PostgreSQL cannot be reached the PostgreSQL half is skipped locally and fails under CI.
Ids are not reset between tests on PostgreSQL: never assert on a literal id.

`add_user_rows(session, name)` inserts a user with one linked row in every table.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

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
    metadata,
)

BACKENDS = ("sqlite", "postgresql")
POSTGRES_ADMIN_URL = os.environ.get(
    "JT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
DATABASE_PREFIX = "jt_test_"
ABANDONED_AFTER_SECS = 12 * 3600  # no test session runs that long

T = TypeVar("T")


def _blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a private event loop in a worker thread: safe from sync or
    async fixtures alike, and it leaves pytest-asyncio's loops alone."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="dbfixtures")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _postgres_url(database: str) -> str:
    admin = make_url(POSTGRES_ADMIN_URL)
    url = admin.set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_postgres_database(*, sweep: bool = False) -> str:
    # The creation time is in the name, so that databases left behind by a killed session
    # can be told apart from those of a session running right now.
    name = f"{DATABASE_PREFIX}{int(time.time()):x}_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        if sweep:
            await _drop_abandoned_databases(connection)
        # template0: nobody ever connects to it, so concurrent test sessions never collide.
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        # Test data needs no fsync at each commit.
        await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await connection.close()
    return name


async def _drop_abandoned_databases(connection: asyncpg.Connection) -> None:
    oldest_kept = time.time() - ABANDONED_AFTER_SECS
    rows = await connection.fetch(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", DATABASE_PREFIX
    )
    for row in rows:
        created_hex = row["datname"].removeprefix(DATABASE_PREFIX).partition("_")[0]
        try:
            created = int(created_hex, 16)
        except ValueError:
            continue
        if created < oldest_kept:
            with contextlib.suppress(asyncpg.PostgresError):  # another session got there first
                await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')


async def _drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _delete_all_rows(url: str) -> None:
    # DELETE beats TRUNCATE by far on tables this small; children first.
    statements = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables))
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute(statements)
    finally:
        await connection.close()


class Databases:
    """The session's databases, created on first use and removed at the end of the session."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._sqlite_template: Path | None = None
        self._postgres_url: str | None = None
        self._postgres_names: list[str] = []
        self._postgres_error: str | None = None
        self._swept = False
        self._lock = threading.Lock()

    def sqlite_template(self) -> Path:
        with self._lock:
            if self._sqlite_template is None:
                path = self._tmp / "template.db"
                _blocking(db.upgrade(_sqlite_url(path)))
                self._sqlite_template = path
            return self._sqlite_template

    def migrated_postgres_url(self) -> str:
        with self._lock:
            if self._postgres_url is None:
                url = self._new_postgres_database()
                _blocking(db.upgrade(url))
                self._postgres_url = url
            return self._postgres_url

    def empty_postgres_url(self) -> str:
        with self._lock:
            return self._new_postgres_database()

    def _new_postgres_database(self) -> str:
        if self._postgres_error is None:
            try:
                name = _blocking(_create_postgres_database(sweep=not self._swept))
                self._swept = True
            except (OSError, asyncpg.PostgresError) as exc:
                self._postgres_error = f"PostgreSQL at {POSTGRES_ADMIN_URL}: {exc!r}"
            else:
                self._postgres_names.append(name)
                return _postgres_url(name)
        if os.environ.get("CI"):
            pytest.fail(f"database tests need PostgreSQL: {self._postgres_error}")
        pytest.skip(f"PostgreSQL unavailable ({self._postgres_error})")

    def drop_postgres(self, url: str) -> None:
        name = make_url(url).database
        assert name is not None and name.startswith(DATABASE_PREFIX)
        _blocking(_drop_postgres_database(name))
        self._postgres_names.remove(name)

    def close(self) -> None:
        for name in list(self._postgres_names):
            _blocking(_drop_postgres_database(name))
        self._postgres_names.clear()


@pytest.fixture(scope="session")
def jt_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    databases = Databases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
async def database_url(
    db_backend: str, jt_databases: Databases, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated database with no rows, private to this test."""
    if db_backend == "sqlite":
        path = tmp_path / "justtrades.db"
        shutil.copyfile(jt_databases.sqlite_template(), path)
        yield _sqlite_url(path)
    else:
        url = jt_databases.migrated_postgres_url()
        await _delete_all_rows(url)
        yield url


@pytest.fixture
def empty_database_url(db_backend: str, jt_databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (Alembic has never run on it)."""
    if db_backend == "sqlite":
        yield _sqlite_url(tmp_path / "empty.db")
    else:
        url = jt_databases.empty_postgres_url()
        yield url
        jt_databases.drop_postgres(url)


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(db_engine: AsyncEngine) -> async_sessionmaker[db.AsyncSession]:
    return db.session_factory(db_engine)


# Rows -------------------------------------------------------------------------------------------


@dataclass
class UserRows:
    """One user with one row in every table, linked as in production."""

    user: User
    api_key: ApiKey
    connection: BrokerConnection
    account: Account
    strategy: Strategy
    trader: Trader
    signal: Signal
    execution: Execution
    broker_call: BrokerCall
    snapshot: PositionSnapshot


async def add_user_rows(session: db.AsyncSession, name: str = "alice") -> UserRows:
    """Insert and flush (not commit) a user named `name` with one row in every table."""
    user = User(email=f"{name}@example.com", password_hash=f"argon2-hash-of-{name}")
    session.add(user)
    await session.flush()
    assert user.id is not None
    api_key = ApiKey(
        user_id=user.id,
        name="ci",
        prefix=f"jt_{name}"[:12],
        key_hash=hashlib.sha256(f"key-{name}".encode()).hexdigest(),
    )
    connection = BrokerConnection(
        user_id=user.id,
        broker="tradovate",
        name=f"{name} demo",
        environment="demo",
        credentials_encrypted=f"ciphertext-{name}",
    )
    strategy = Strategy(
        user_id=user.id,
        name="NQ breakout",
        webhook_token=secrets.token_hex(32),
        symbol="NQ1!",
        settings={"max_contracts": 3},
    )
    session.add_all([api_key, connection, strategy])
    await session.flush()
    assert connection.id is not None and strategy.id is not None
    account = Account(
        user_id=user.id, connection_id=connection.id, broker_account_id="D123", name="DEMO123"
    )
    session.add(account)
    await session.flush()
    assert account.id is not None
    trader = Trader(
        user_id=user.id, strategy_id=strategy.id, account_id=account.id, multiplier=Decimal(2)
    )
    signal = Signal(
        user_id=user.id,
        strategy_id=strategy.id,
        body='{"action": "buy"}',
        body_hash=hashlib.sha256(b'{"action": "buy"}').hexdigest(),
        status="accepted",
    )
    snapshot = PositionSnapshot(
        account_id=account.id, symbol="NQZ6", net_pos=1, avg_price=Decimal("21000.25")
    )
    session.add_all([trader, signal, snapshot])
    await session.flush()
    assert signal.id is not None
    execution = Execution(
        signal_id=signal.id, trader_id=trader.id, account_id=account.id, status="planned"
    )
    session.add(execution)
    await session.flush()
    assert execution.id is not None
    broker_call = BrokerCall(
        execution_id=execution.id, seq=1, endpoint="order/placeorder", outcome="sent"
    )
    session.add(broker_call)
    await session.flush()
    return UserRows(
        user=user,
        api_key=api_key,
        connection=connection,
        account=account,
        strategy=strategy,
        trader=trader,
        signal=signal,
        execution=execution,
        broker_call=broker_call,
        snapshot=snapshot,
    )
