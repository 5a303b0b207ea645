"""Alembic environment: async engines, SQLite batch mode, the shared metadata.

Two ways in. From code, `justtrades.models.db.upgrade(url)` opens the connection itself and
hands it over in `config.attributes["connection"]` (so no second event loop is started). From
the `alembic` command line, the URL comes from JT_DATABASE_URL (or the default SQLite file) and
an async engine is opened here.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

import justtrades.models  # noqa: F401  (registers every table on the metadata)
from justtrades.models.db import (
    database_url_from_env,
    metadata,
    migration_engine,
    normalize_url,
)

config = context.config

# Key of the PostgreSQL advisory lock held while migrating (any constant shared by all instances).
MIGRATION_LOCK = 0x4A545F4D494752  # "JT_MIGR"

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> URL:
    url = config.attributes.get("url")
    return normalize_url(url if url is not None else database_url_from_env())


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    url = database_url()
    configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # SQLite: the migration engine emits a real BEGIN IMMEDIATE, so the whole run is one
    # transaction there too, and concurrent runs are serialised by SQLite's write lock.
    configure(connection=connection, render_as_batch=sqlite, transactional_ddl=True)
    with context.begin_transaction():
        if not sqlite:
            # Instances starting together migrate one after the other (the lock is released
            # at commit); the later ones then find the database at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
        if sqlite:
            # Foreign keys are off while migrating (see db._install_sqlite_setup); make sure
            # the result is consistent before it is committed.
            violations = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if violations:
                raise RuntimeError(f"foreign key violations after migrating: {violations}")


async def run_async() -> None:
    engine = migration_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    asyncio.run(run_async())
