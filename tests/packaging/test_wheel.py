"""Point 1 and 2 of the operations foundation: the wheel migrates, runs as a module, knows its
version, and the runtime lock brings no development tool."""

from __future__ import annotations

import re
import tomllib
import zipfile
from pathlib import Path

from sqlalchemy import inspect

from justtrades.models import db
from tests.packaging.conftest import ROOT, Installed

DEV_TOOLS = ("pytest", "pytest-asyncio", "mypy", "ruff", "hypothesis", "respx", "uv")


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def test_the_wheel_ships_the_migrations(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "justtrades/migrations/env.py" in names
    assert "justtrades/migrations/script.py.mako" in names
    shipped = {
        n.rsplit("/", 1)[-1] for n in names if n.startswith("justtrades/migrations/versions/")
    }
    in_checkout = {p.name for p in (ROOT / "alembic" / "versions").glob("*.py")}
    assert in_checkout and shipped == in_checkout


async def tables_of(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def test_db_upgrade_in_an_empty_folder_with_nothing_set(
    installed: Installed, tmp_path: Path
) -> None:
    done = installed.run(installed.command, "db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tables = await tables_of(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'justtrades.db'}")
    assert {"alembic_version", "users", "signals", "broker_calls"} <= tables


async def test_db_upgrade_on_both_backends(
    installed: Installed, empty_database_url: str, tmp_path: Path
) -> None:
    env = {"JT_DATABASE_URL": empty_database_url, "JT_SECRET_KEY": "packaging-test"}
    done = installed.run(
        installed.python, "-m", "justtrades", "db", "upgrade", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    again = installed.run(installed.command, "db", "upgrade", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr  # idempotent
    assert {"alembic_version", "signals", "executions"} <= await tables_of(empty_database_url)


def test_python_dash_m_and_the_version_from_metadata(installed: Installed, tmp_path: Path) -> None:
    done = installed.run(installed.python, "-m", "justtrades", "--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"justtrades {project_version()}"
    code = "import justtrades; print(justtrades.__version__)"
    module = installed.run(installed.python, "-c", code, cwd=tmp_path)
    assert module.stdout.strip() == project_version()


def test_the_runtime_install_holds_no_development_tool(
    installed: Installed, tmp_path: Path
) -> None:
    listed = installed.run(installed.python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    names = {re.split("==", line)[0].lower().replace("_", "-") for line in listed.stdout.split()}
    assert {"justtrades", "structlog", "prometheus-client", "sniffio"} <= names
    assert not names & set(DEV_TOOLS), names & set(DEV_TOOLS)
