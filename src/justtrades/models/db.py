"""The database: shared metadata, the async engine, sessions, and migrations run from code.

One engine per process (built in the app's lifespan), sessions with `expire_on_commit=False`.
Two backends, one behaviour: SQLite through aiosqlite (the default, a file under ./data) and
PostgreSQL through asyncpg. URLs without an async driver (`sqlite:///x.db`,
`postgresql://...`, `postgres://...`) are given one; any other backend is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DEFAULT_DATABASE_URL",
    "NAMING_CONVENTION",
    "AsyncSession",
    "alembic_config",
    "create_engine",
    "database_url_from_env",
    "downgrade",
    "metadata",
    "migration_engine",
    "normalize_url",
    "session_factory",
    "upgrade",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/justtrades.db"

# Stable, predictable constraint names: Alembic can then alter or drop them by name on every
# backend (SQLite batch mode needs names to find constraints again).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

SQLITE_BUSY_TIMEOUT_MS = 5_000
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10
POSTGRES_POOL_TIMEOUT_SECS = 10.0
POSTGRES_POOL_RECYCLE_SECS = 1_800
POSTGRES_CONNECT_TIMEOUT_SECS = 10.0
POSTGRES_COMMAND_TIMEOUT_SECS = 30.0

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def database_url_from_env() -> str:
    """`JT_DATABASE_URL`, or the SQLite file the app uses when nothing is configured."""
    return os.environ.get("JT_DATABASE_URL") or DEFAULT_DATABASE_URL


def normalize_url(url: str | URL) -> URL:
    """The URL with its async driver (aiosqlite or asyncpg); ValueError for other backends."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    return parsed.set(drivername=driver)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """The process's async engine. SQLite: foreign keys enforced (ON DELETE CASCADE depends on
    it), WAL for files, a busy timeout; the folder of the file is created. PostgreSQL: a bounded
    pool with pre-ping and timeouts."""
    return _create_engine(normalize_url(url), echo=echo, migrating=False)


def _create_engine(url: URL, *, echo: bool, migrating: bool) -> AsyncEngine:
    # hide_parameters: a database error's text (logged, or stored as an execution's error) never
    # carries the bound values (webhook tokens, sealed credentials, signal bodies).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if migrating:
        kwargs["poolclass"] = NullPool
    if _is_sqlite(url):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        install_sqlite_setup(engine, wal=path is not None, migrating=migrating)
        return engine
    connect_args: dict[str, Any] = {
        "timeout": POSTGRES_CONNECT_TIMEOUT_SECS,
        "server_settings": {"application_name": "justtrades"},
    }
    kwargs["connect_args"] = connect_args
    if not migrating:
        # A statement that hangs must not hold the event loop's work forever; migrations may
        # legitimately run long, so they get no such limit.
        connect_args["command_timeout"] = POSTGRES_COMMAND_TIMEOUT_SECS
        kwargs.update(
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_MAX_OVERFLOW,
            pool_timeout=POSTGRES_POOL_TIMEOUT_SECS,
            pool_recycle=POSTGRES_POOL_RECYCLE_SECS,
            pool_pre_ping=True,
        )
    return create_async_engine(url, **kwargs)


def install_sqlite_setup(engine: AsyncEngine | Engine, *, wal: bool, migrating: bool) -> None:
    # Migrations run with foreign keys OFF: a batch "move and copy" drops and recreates a table,
    # and with enforcement on, dropping a parent would cascade-delete every child row. They also
    # take real transactions (the driver would otherwise autocommit each DDL statement), so a
    # failed migration leaves nothing half done.
    foreign_keys = "OFF" if migrating else "ON"

    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL is safe against corruption and against a crash of the
                # process; only an OS crash or power loss can undo the last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA foreign_keys = {foreign_keys}")
        finally:
            cursor.close()
        if migrating:
            dbapi_connection.isolation_level = None

    if migrating:

        @event.listens_for(sync, "begin")
        def _on_begin(connection: Connection) -> None:
            # IMMEDIATE: take the write lock before reading the current revision, so two
            # processes migrating at once run one after the other.
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; objects stay usable after commit (no implicit reload on access)."""
    return async_sessionmaker(engine, expire_on_commit=False)


# Migrations -------------------------------------------------------------------------------------


def _script_location() -> Path:
    """The migrations: shipped inside the package (`justtrades/migrations`, from the top-level
    `alembic/` folder, see pyproject.toml), else the checkout's `alembic/` (an editable install
    or a source tree)."""
    shipped = Path(str(resources.files("justtrades").joinpath("migrations")))
    candidates = [shipped, Path(__file__).resolve().parents[3] / "alembic"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"the migrations are missing from this install (searched {searched})")


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for `url` (default: `JT_DATABASE_URL`), independent of the current
    directory and of alembic.ini (which only serves the `alembic` command line)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_script_location()).replace("%", "%%"))
    config.attributes["url"] = normalize_url(url or database_url_from_env())
    return config


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (idempotent: at head, nothing happens)."""
    from alembic import command

    await _run_alembic(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str | URL, revision: str = "base") -> None:
    """Migrate the database at `url` down to `revision` (`base`: drop every table)."""
    from alembic import command

    await _run_alembic(url, lambda config: command.downgrade(config, revision))


async def _run_alembic(url: str | URL, run: Callable[[Config], None]) -> None:
    config = alembic_config(url)
    engine = migration_engine(config.attributes["url"])
    try:
        async with engine.connect() as connection:

            def run_on(sync_connection: Connection) -> None:
                # env.py finds the connection here and runs on it (no nested event loop).
                config.attributes["connection"] = sync_connection
                run(config)

            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


def migration_engine(url: str | URL) -> AsyncEngine:
    """A single-connection engine for migrations (used by `upgrade` and alembic/env.py)."""
    return _create_engine(normalize_url(url), echo=False, migrating=True)
