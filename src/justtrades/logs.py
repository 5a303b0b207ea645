"""Structured logs with structlog: readable console lines in development, one JSON object a line
with `JT_LOG_FORMAT=json`. Every record goes through one chain, ours (`get_logger`) and the
standard library's alike (uvicorn, alembic, asyncio, warnings, an uncaught exception):

    bound context (request_id, signal_id, trader_id, account_id, ...) -> level, logger name,
    UTC timestamp -> exception text -> masking -> console or JSON renderer

Masking runs last before rendering, so nothing escapes it: a value whose key names a secret is
replaced by `***`, and every string (the message and tracebacks included) is scrubbed of what
looks like a credential (bearer tokens, API keys, webhook tokens in URLs, URL passwords, JWTs,
`password=...` pairs) and of the secret values registered at start (the encryption key, the
metrics token, the database password)."""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TextIO

import structlog
from structlog.contextvars import bound_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["FORMATS", "bind", "get_logger", "mask_secrets", "register_secret", "setup"]

FORMATS = ("console", "json")
MASK = "***"

# A key is secret when its last word is one of these ("access_token", "api_key", "sec")...
SECRET_LAST_WORDS = frozenset(
    {"password", "passwd", "secret", "token", "key", "sec", "authorization", "cookie", "apikey"}
)
# ...or when any of its words is one of these ("password_hash", "credentials_encrypted").
SECRET_ANY_WORDS = frozenset({"password", "passwd", "secret", "credential", "credentials"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SCRUB: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (re.compile(r"\bjt_[A-Za-z0-9_-]{16,}"), f"jt_{MASK}"),
    (re.compile(r"(/webhooks?/)[A-Za-z0-9_-]{8,}"), rf"\1{MASK}"),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s/]+@"), rf"\1:{MASK}@"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    (
        re.compile(
            r"""(?ix)
            (["']?\b(?:password|passwd|secret|sec|api[_-]?key|access[_-]?token|md[_-]?access[_-]?token
            |refresh[_-]?token|token|authorization)["']?\s*[:=]\s*["']?)
            [^"'\s,;&}]+"""
        ),
        rf"\1{MASK}",
    ),
]
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
MIN_REGISTERED_SECRET_LEN = 12  # a shorter "secret" could be an ordinary word in a log line


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would appear in a log line from now on."""
    if value and len(value) >= MIN_REGISTERED_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


# Any of the patterns above needs one of these in the text: one search decides whether the
# substitutions run at all (most log strings hold none of them).
_MAYBE = re.compile(
    r"(?i)bearer|basic|jt_|/webhook|://|eyJ|passw|secret|sec|api.?key|token|authorization"
)
_OURS = frozenset({"timestamp", "level", "logger"})  # values the chain itself writes


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """`password`, `access_token`, `api_key`, `accessToken` are; `token_id`, `age_secs` not."""
    words = _CAMEL.sub("_", key).lower().replace("-", "_").split("_")
    if words[-1] == "id":
        return False
    return words[-1] in SECRET_LAST_WORDS or not SECRET_ANY_WORDS.isdisjoint(words)


def scrub(text: str) -> str:
    if _MAYBE.search(text):
        for pattern, replacement in _SCRUB:
            text = pattern.sub(replacement, text)
    for value in _secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))


def mask_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """The masking processor: runs on every record, just before it is rendered."""
    return {
        k: v if k in _OURS else MASK if is_secret_key(k) else _masked(v)
        for k, v in event_dict.items()
    }


def bind(**fields: Any) -> Any:
    """Add fields (signal_id=..., trader_id=..., account_id=...) to every line inside."""
    return bound_contextvars(**fields)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def _drop_color_message(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Uvicorn adds a copy of its message with terminal colour codes: not for a log line."""
    event_dict.pop("color_message", None)
    return event_dict


def _shared() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


def _renderer(fmt: str, stream: TextIO) -> Processor:
    if fmt == "json":
        return structlog.processors.JSONRenderer(default=str)
    colors = bool(getattr(stream, "isatty", lambda: False)())
    return structlog.dev.ConsoleRenderer(
        colors=colors, exception_formatter=structlog.dev.plain_traceback
    )


# The standard library's loggers that print on their own or too much at INFO.
QUIET = {
    "httpx": "WARNING",
    "httpcore": "WARNING",
    "sqlalchemy": "WARNING",
    "asyncio": "WARNING",
    "alembic.runtime.plugins": "WARNING",
}
ROUTED = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "alembic", "fastapi")


def setup(
    level: str = "INFO",
    fmt: str = "console",
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
) -> None:
    """Route every log record of the process through structlog, rendered as `fmt` ("console"
    or "json") on `stream` (stderr: stdout carries the commands' own output)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = stream or sys.stderr
    for value in secrets:
        register_secret(value)
    formatter = structlog.stdlib.ProcessorFormatter(
        # The standard library's records are masked here; structlog's own events were masked
        # in their chain already (so any handler gets them masked, not only this one).
        foreign_pre_chain=[*_shared(), structlog.processors.format_exc_info, mask_secrets],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(fmt, out),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ROUTED:  # uvicorn installs its own handlers when asked: ours instead
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(logging.NOTSET)  # the root's level, unless uvicorn is told otherwise
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
    _configure_structlog()
    sys.excepthook = _log_uncaught


def _configure_structlog() -> None:
    """structlog's loggers hand their events, masked, to the standard library's handlers
    (rendered by the formatter `setup` installs; else by whatever handler is there)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below the level: no work at all
            *_shared(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_secrets,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _log_uncaught(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, tb)
        return
    get_logger("justtrades").critical("uncaught exception", exc_info=(kind, error, tb))


_configure_structlog()
