"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from justtrades.models import User, db, metadata


def _differences(connection: Connection) -> list[Any]:
    # The same comparison options as alembic/env.py; nothing is excluded. Alembic itself skips
    # its alembic_version table (and SQLite's internal sqlite_sequence is never reflected).
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    diff: list[Any] = compare_metadata(context, metadata)
    return diff


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


HEAD = ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_database_matches_the_models(db_engine: AsyncEngine) -> None:
    async with db_engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
        assert await connection.run_sync(_revision) == HEAD


def _check_constraints(connection: Connection) -> dict[str, set[str]]:
    """Name -> the quoted literals of each CHECK constraint in the database."""
    inspector = inspect(connection)
    return {
        check["name"]: set(re.findall(r"'([^']*)'", check["sqltext"]))
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
        if check["name"]
    }


async def test_check_constraints_match_the_models(db_engine: AsyncEngine) -> None:
    # Alembic's comparison ignores CHECK constraints: compare their allowed values here.
    expected = {
        str(constraint.name): set(re.findall(r"'([^']*)'", str(constraint.sqltext)))
        for table in metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert expected  # the models do declare some
    async with db_engine.connect() as connection:
        assert await connection.run_sync(_check_constraints) == expected


async def test_comparison_notices_a_schema_that_drifted(empty_database_url: str) -> None:
    await db.upgrade(empty_database_url)
    engine = db.create_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX ix_signals_status"))
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert [d[0] for d in differences] == ["add_index"]
    assert differences[0][1].name == "ix_signals_status"


async def test_upgrade_is_idempotent_and_downgrade_reverses_it(
    empty_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Migrations are found from the package, whatever the current directory.
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    await db.upgrade(empty_database_url)
    await db.upgrade(empty_database_url)
    engine = db.create_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) == HEAD
            assert await connection.run_sync(_tables) >= set(metadata.tables)

        await db.downgrade(empty_database_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) is None
            assert await connection.run_sync(_tables) == {"alembic_version"}

        await db.upgrade(empty_database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with db.session_factory(engine)() as session:
            session.add(User(email="back@example.com", password_hash="x"))
            await session.commit()
    finally:
        await engine.dispose()


def test_migrations_folder_is_found_without_alembic_ini(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("nowhere"))
    config = db.alembic_config("sqlite:///x.db")
    location = config.get_main_option("script_location")
    assert location is not None and location.endswith("alembic")
    assert str(config.attributes["url"]).startswith("sqlite+aiosqlite:///")


async def test_instances_starting_together_migrate_once(empty_database_url: str) -> None:
    # Separate processes, as in a deployment (Alembic's context is global within a process).
    script = "import asyncio, sys; from justtrades.models.db import upgrade; " + (
        "asyncio.run(upgrade(sys.argv[1]))"
    )
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, empty_database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    for process in processes:
        _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
    engine = db.create_engine(empty_database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) == HEAD
    finally:
        await engine.dispose()
