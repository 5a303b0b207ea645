"""Structured logs: every record (ours, the standard library's, warnings, uncaught errors) goes
through one chain, rendered as JSON or console lines, with secrets masked. Lines are parsed,
never matched as text."""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from justtrades import logs
from justtrades.logs import bind, get_logger, is_secret_key


@pytest.fixture
def capture() -> Iterator[Callable[..., io.StringIO]]:
    """setup(...) into a buffer; the process's logging is restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, set(logs._secrets))

    def configure(fmt: str = "json", level: str = "DEBUG", **kwargs: Any) -> io.StringIO:
        out = io.StringIO()
        logs.setup(level, fmt, stream=out, **kwargs)
        return out

    yield configure
    root.handlers[:], _, sys.excepthook, kept = saved
    root.setLevel(saved[1])
    logs._secrets.clear()
    logs._secrets.update(kept)
    logging.captureWarnings(False)
    structlog.contextvars.clear_contextvars()


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_a_json_line_has_event_level_timestamp_and_the_bound_ids(capture: Any) -> None:
    out = capture()
    log = get_logger("justtrades.test")
    with bind(signal_id=7, trader_id=3, account_id=11):
        log.info("placed", order_id="42", qty=2)
    log.warning("after")
    first, second = lines(out)
    assert first["event"] == "placed" and first["level"] == "info"
    assert first["logger"] == "justtrades.test" and first["timestamp"].endswith("Z")
    assert (first["signal_id"], first["trader_id"], first["account_id"]) == (7, 3, 11)
    assert (first["order_id"], first["qty"]) == ("42", 2)
    assert second["event"] == "after" and second["level"] == "warning"
    assert "signal_id" not in second


def test_secret_keys_are_masked_whatever_the_caller_passes(capture: Any) -> None:
    out = capture()
    get_logger("t").info(
        "login",
        password="hunter2",
        access_token="abc123abc",
        api_key="jt_x",
        accessToken="camel-secret",
        sec="app-secret",
        credentials={"username": "ann", "password": "pw1"},
        body={"name": "ann", "password": "pw2", "nested": [{"token": "t0k3n"}]},
        token_id=5,
        age_secs=1.5,
    )
    [line] = lines(out)
    for key in ("password", "access_token", "api_key", "accessToken", "sec", "credentials"):
        assert line[key] == "***", key
    assert line["body"] == {"name": "ann", "password": "***", "nested": [{"token": "***"}]}
    assert (line["token_id"], line["age_secs"]) == (5, 1.5)
    text = out.getvalue()
    for secret in ("hunter2", "abc123abc", "camel-secret", "app-secret", "pw1", "pw2", "t0k3n"):
        assert secret not in text


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("sent Authorization: Bearer sim-abcdefgh1234", "sim-abcdefgh1234"),
        ("key jt_AbCdEfGhIjKlMnOpQrStUv was used", "AbCdEfGhIjKlMnOpQrStUv"),
        ("POST /webhook/Zx9_secretTokenValue-1 HTTP/1.1", "Zx9_secretTokenValue-1"),
        ("connect postgresql://app:s3cr3t-pw@db:5432/prod", "s3cr3t-pw"),
        ("token eyJhbGciOiJI.eyJzdWIiOiIx.sig-nature-part", "eyJzdWIiOiIx"),
        ('answer {"accessToken": "tok-abc-123", "x": 1}', "tok-abc-123"),
        ("form password=pa55word&user=ann", "pa55word"),
    ],
)
def test_strings_are_scrubbed_of_what_looks_like_a_credential(
    capture: Any, message: str, secret: str
) -> None:
    out = capture()
    get_logger("t").info(message, detail=f"again: {message}")
    [line] = lines(out)
    assert secret not in out.getvalue()
    assert "***" in line["event"] and "***" in line["detail"]


def test_registered_secret_values_are_masked_anywhere(capture: Any) -> None:
    out = capture(secrets=["the-encryption-key-value", None, "abc"])
    get_logger("t").info("loaded the-encryption-key-value from the file", note="abc is short")
    [line] = lines(out)
    assert "the-encryption-key-value" not in out.getvalue()
    assert line["note"] == "abc is short"  # too short to be registered: words stay readable


def test_stdlib_loggers_and_warnings_are_routed_through_the_chain(capture: Any) -> None:
    out = capture()
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8000")
    logging.getLogger("alembic.runtime.migration").warning(
        "odd", extra={"database": "postgresql://u:pw-secret@h/db"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old thing", DeprecationWarning, stacklevel=1)
    uvicorn, alembic, warned = lines(out)
    assert uvicorn["event"] == "Uvicorn running on http://127.0.0.1:8000"
    assert uvicorn["logger"] == "uvicorn.error" and uvicorn["level"] == "info"
    assert alembic["database"] == "postgresql://u:***@h/db"
    assert warned["logger"] == "py.warnings" and "old thing" in warned["event"]


def test_an_exception_is_one_json_line_with_its_traceback_scrubbed(capture: Any) -> None:
    out = capture()
    try:
        raise RuntimeError("login failed for password=topsecret1")
    except RuntimeError:
        get_logger("t").exception("broker call crashed")
    [line] = lines(out)
    assert line["level"] == "error" and "RuntimeError" in line["exception"]
    assert "Traceback" in line["exception"] and "topsecret1" not in out.getvalue()


def test_an_uncaught_exception_is_logged_as_json(capture: Any) -> None:
    out = capture()
    try:
        raise ValueError("boom")
    except ValueError as e:
        sys.excepthook(type(e), e, e.__traceback__)
    [line] = lines(out)
    assert line["level"] == "critical" and "ValueError: boom" in line["exception"]


def test_the_console_format_is_readable_and_masked_too(capture: Any) -> None:
    out = capture("console")
    get_logger("t").info("placed", order_id="42", password="hunter2")
    text = out.getvalue()
    assert "placed" in text and "order_id" in text and "42" in text
    assert "hunter2" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_the_level_is_applied(capture: Any) -> None:
    out = capture(level="WARNING")
    get_logger("t").info("quiet")
    get_logger("t").warning("loud")
    assert [line["event"] for line in lines(out)] == ["loud"]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="console, json"):
        logs.setup("INFO", "xml")


def test_secret_key_names() -> None:
    for key in ("password", "access_token", "mdAccessToken", "api_key", "sec", "secret_key"):
        assert is_secret_key(key), key
    for key in ("token_id", "age_secs", "order_id", "token_ttl_secs", "signal_id", "symbol"):
        assert not is_secret_key(key), key


def test_broker_url_allow_list_compares_parsed_origins() -> None:
    from justtrades.api.v1 import url_allowed

    allowed = ["http://127.0.0.1", "https://sim.example.com:8443/v1"]
    assert url_allowed("http://127.0.0.1:8700/v1", allowed)
    assert url_allowed("https://sim.example.com:8443/v1", allowed)
    for bad in [
        "http://127.0.0.1:@169.254.169.254/v1",  # user info hides the real host
        "http://user@127.0.0.1/v1",
        "https://sim.example.com.evil.net:8443/v1",
        "https://sim.example.com:9999/v1",  # another port than the one named
        "https://sim.example.com:8443/admin",  # outside the path
        "http://10.0.0.1/v1",
        "file:///etc/passwd",
        "not a url",
    ]:
        assert not url_allowed(bad, allowed), bad


def test_any_handler_gets_structlog_events_already_masked(capture: Any) -> None:
    capture()
    seen: list[logging.LogRecord] = []

    class Other(logging.Handler):  # not ours: caplog, a library's basicConfig, ...
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    other = Other()
    logging.getLogger().addHandler(other)
    try:
        get_logger("t").info("login", password="hunter2", note="Bearer abcdefgh123")
    finally:
        logging.getLogger().removeHandler(other)
    [record] = seen
    assert isinstance(record.msg, dict)
    assert record.msg["password"] == "***" and record.msg["note"] == "Bearer ***"


def test_the_database_password_is_masked_in_its_url_not_as_a_word(
    capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from justtrades.app import setup_logging
    from justtrades.config import Settings

    capture()  # saves and restores the logging state around setup_logging
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    url = "postgresql+asyncpg://justtrades:justtrades@db:5432/justtrades"
    setup_logging(Settings(database_url=url, log_format="json"))
    get_logger("justtrades.engine").info("justtrades started", database=url)
    [line] = lines(out)
    assert line["logger"] == "justtrades.engine" and line["event"] == "justtrades started"
    assert line["database"] == "postgresql+asyncpg://justtrades:***@db:5432/justtrades"
