"""Users of the product and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false
from sqlmodel import Field

from justtrades.models.base import (
    TABLE_OPTIONS,
    Base,
    created_at_field,
    id_field,
    owner_field,
    timestamp_field,
)

DEFAULT_TIME_ZONE = "America/Chicago"


class User(Base, table=True):
    """A person using the product. `email` is stored as given: normalise it before storing."""

    __tablename__ = "users"
    __table_args__ = (TABLE_OPTIONS,)

    id: int | None = id_field()
    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(repr=False)
    is_admin: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    is_approved: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        max_length=64,
        sa_column_kwargs={"server_default": DEFAULT_TIME_ZONE},
    )
    created_at: datetime = created_at_field()


class ApiKey(Base, table=True):
    """A key for the REST API. Only its SHA-256 is kept; `prefix` is shown to recognise it."""

    __tablename__ = "api_keys"
    __table_args__ = (TABLE_OPTIONS,)

    id: int | None = id_field()
    user_id: int = owner_field()
    name: str
    prefix: str = Field(max_length=12, index=True)
    key_hash: str = Field(max_length=64, unique=True, repr=False)
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
