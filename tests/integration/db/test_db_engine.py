"""Engine settings that the rest of the database layer relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from justtrades.models import db


async def test_engine_settings(db_engine: AsyncEngine, db_backend: str) -> None:
    async with db_engine.connect() as connection:
        if db_backend == "sqlite":
            # ON DELETE CASCADE is only honoured with foreign keys on, per connection.
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            assert busy == db.SQLITE_BUSY_TIMEOUT_MS
        else:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            assert db_engine.pool.size() == db.POSTGRES_POOL_SIZE  # type: ignore[attr-defined]


async def test_sqlite_file_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "jt.db"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert path.is_file()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./data/x.db", "sqlite+aiosqlite:///./data/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql://u@h:5433/d", "postgresql+asyncpg://u@h:5433/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_urls_get_their_async_driver(given: str, expected: str) -> None:
    assert db.normalize_url(given).render_as_string() == expected


@pytest.mark.parametrize("url", ["mysql://u@h/d", "postgresql+psycopg2://u@h/d"])
def test_other_backends_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        db.normalize_url(url)


def test_database_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JT_DATABASE_URL", raising=False)
    assert db.database_url_from_env() == db.DEFAULT_DATABASE_URL
    monkeypatch.setenv("JT_DATABASE_URL", "postgresql://u@h/d")
    assert db.database_url_from_env() == "postgresql://u@h/d"
