"""The `justtrades` command against a real database (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(database_url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`justtrades ARGS` on the database, with JT_<NAME> set for each of `settings`."""
    env = {**os.environ, "JT_DATABASE_URL": database_url, "JT_SECRET_KEY": "cli-test-key"}
    env.update({f"JT_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "justtrades.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_db_upgrade_user_and_api_key(database_url: str) -> None:
    assert run(database_url, "db", "upgrade").returncode == 0
    made = run(
        database_url,
        "user",
        "create",
        "--email",
        "Ann@Example.com",
        "--password",
        "long-enough-pw",
        "--admin",
    )
    assert made.returncode == 0, made.stderr
    assert "ann@example.com created (admin)" in made.stdout
    key = run(database_url, "apikey", "create", "--email", "ann@example.com")
    assert key.returncode == 0
    assert key.stdout.strip().startswith("jt_") and len(key.stdout.strip()) > 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("user", "create", "--email", "not-an-email", "--password", "long-enough-pw"),
            "not an e-mail",
        ),
        (("user", "create", "--email", "a@b.c", "--password", "short"), "at least 8"),
        (("apikey", "create", "--email", "nobody@example.com"), "no user"),
    ],
)
def test_bad_input_is_a_clear_cli_error(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    done = run(database_url, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_second_user_with_the_same_email_is_refused(database_url: str) -> None:
    args = ("user", "create", "--email", "b@example.com", "--password", "long-enough-pw")
    assert run(database_url, *args).returncode == 0
    again = run(database_url, *args)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_usage_errors_are_reported_by_the_parser() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "justtrades.cli", "user", "create"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--email" in done.stderr


def test_a_bad_setting_names_the_variable_and_what_it_accepts(database_url: str) -> None:
    done = run(database_url, "db", "upgrade", log_format="xml")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "JT_LOG_FORMAT" in done.stderr and "'console' or 'json'" in done.stderr


def test_db_upgrade_logs_json_lines_on_stderr(database_url: str) -> None:
    import json

    done = run(database_url, "db", "upgrade", log_format="json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stdout is for a command's result; logs go to stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    [at_head] = [r for r in records if r["event"] == "database at head"]
    assert at_head["database"].startswith(("sqlite", "postgresql"))
