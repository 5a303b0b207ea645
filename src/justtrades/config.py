"""Settings of the service: from the environment with the prefix JT_, defaults that run with
nothing set (a SQLite file under ./data, the built-in Tradovate simulator for the demo)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JT_", extra="ignore")

    database_url: str = Field(
        f"sqlite+aiosqlite:///./{DATA_DIR}/justtrades.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Encrypts broker credentials at rest. Unset: a key is generated once and "
        "kept in data/secret.key, so it never changes between restarts.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        None, description="Base URL users paste into TradingView (default http://host:port)"
    )
    dedup_window_secs: float = Field(30, ge=0, description="same strategy and body: trade once")
    max_signal_age_secs: float = Field(30, gt=0, description="older when its turn comes: expired")
    broker_timeout_secs: float = Field(10, gt=0, le=120, description="per broker request")
    drain_timeout_secs: float = Field(
        30,
        ge=0,
        le=600,
        description="at shutdown, how long signals already executing may take to finish "
        "before they are cancelled (keep it above the broker timeout; give the container's "
        "stop grace period more)",
    )
    custom_broker_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes a non-admin user may give as a connection's base_url (for "
        "example a shared simulator); admins may give any",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="the least severe level written"
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="console: readable lines; json: one JSON object a line"
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="set: GET /metrics needs `Authorization: Bearer <token>`; unset: /metrics "
        "is open (it holds no tenant's identity)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_secret_key(self) -> str:
        """The configured key; with the embedded SQLite database, else the one kept beside it
        (created once, never regenerated). A server database needs JT_SECRET_KEY: a key file
        on one machine's disk would silently differ on the next one."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if not self.database_url.startswith("sqlite"):
            raise ValueError(
                "set JT_SECRET_KEY (a long random string) to use a server database: it "
                "encrypts broker credentials, and must be the same on every start"
            )
        path = self.data_dir() / "secret.key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key

    def data_dir(self) -> Path:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            db = Path(self.database_url.removeprefix(prefix))
            return db.parent if str(db.parent) else DATA_DIR
        return DATA_DIR
