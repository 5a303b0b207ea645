"""Broker connections (credentials and token) and the trading accounts found through them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKeyConstraint, Text, UniqueConstraint, true
from sqlmodel import Field

from justtrades.models.base import (
    TABLE_OPTIONS,
    Base,
    created_at_field,
    id_field,
    one_of,
    owner_field,
    timestamp_field,
    updated_at_field,
)


class Environment(StrEnum):
    DEMO = "demo"
    LIVE = "live"
    CUSTOM = "custom"


class BrokerConnection(Base, table=True):
    """One set of broker credentials and the access token they give.

    `credentials_encrypted` and `token_encrypted` hold ciphertext only: encryption and
    decryption happen outside the database layer, and neither is ever logged or returned.
    """

    __tablename__ = "broker_connections"
    __table_args__ = (
        # Target of the (connection_id, user_id) foreign key of accounts: an account can only
        # hang off a connection of the same user.
        UniqueConstraint("id", "user_id"),
        one_of("environment", [e.value for e in Environment]),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    user_id: int = owner_field()
    broker: str = Field(max_length=20)
    name: str
    environment: str = Field(max_length=10)
    base_url: str | None = None
    username: str | None = None
    # Kept out of repr(): a row that ends up in a log must not carry them.
    credentials_encrypted: str = Field(sa_type=Text, repr=False)
    token_encrypted: str | None = Field(default=None, sa_type=Text, repr=False)
    token_expires_at: datetime | None = timestamp_field()
    status: str = Field(default="new", max_length=20, sa_column_kwargs={"server_default": "new"})
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Account(Base, table=True):
    """One trading account at a broker, reached through a connection of the same user."""

    __tablename__ = "accounts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["connection_id", "user_id"],
            ["broker_connections.id", "broker_connections.user_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("connection_id", "broker_account_id"),
        # Target of the (account_id, user_id) foreign keys of traders.
        UniqueConstraint("id", "user_id"),
        TABLE_OPTIONS,
    )

    id: int | None = id_field()
    user_id: int = owner_field()
    connection_id: int
    broker_account_id: str = Field(max_length=64)
    name: str
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = created_at_field()
