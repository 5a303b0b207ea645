"""Structured logs: one JSON object a line, with signal, trader and account ids bound through
context variables. Values whose key looks secret are masked, whatever the caller passes."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_bound: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("jt_log_ctx", default={})  # noqa: B039
SECRET_WORDS = frozenset(
    {"password", "secret", "token", "key", "sec", "authorization", "credential", "credentials"}
)


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields (signal_id=..., trader_id=..., account_id=...) to every log line inside."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


def _mask(key: str, value: Any) -> Any:
    """`password`, `access_token`, `api_key` are masked; `age_secs`, `token_id` are not."""
    words = key.lower().replace("-", "_").split("_")
    if words[-1] != "id" and SECRET_WORDS.intersection(words):
        return "***"
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(_bound.get())
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update({k: _mask(k, v) for k, v in extra.items()})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel("WARNING")


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})
