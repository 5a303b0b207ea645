"""Settings of the service: from the environment with the prefix JT_, defaults that run with
nothing set (a SQLite file under ./data, the built-in Tradovate simulator for the demo)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, SecretStr
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
    workers: int = Field(8, ge=1, le=256, description="execution workers taking signals")
    dedup_window_secs: float = Field(30, ge=0, description="same strategy and body: trade once")
    max_signal_age_secs: float = Field(30, gt=0, description="older when its turn comes: expired")
    broker_timeout_secs: float = Field(10, gt=0)
    log_level: str = "INFO"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_secret_key(self) -> str:
        """The configured key, else the one kept in the data folder (created once)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir() / "secret.key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        path.write_text(key)
        path.chmod(0o600)
        return key

    def data_dir(self) -> Path:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            db = Path(self.database_url.removeprefix(prefix))
            return db.parent if str(db.parent) else DATA_DIR
        return DATA_DIR
