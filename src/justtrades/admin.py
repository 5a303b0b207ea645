"""Users, API keys and broker connections: shared by the REST API, the CLI and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from justtrades.brokers.base import BrokerError
from justtrades.brokers.registry import BrokerRegistry, ConnectionSpec, credentials_context
from justtrades.clock import Clock
from justtrades.crypto import SecretBox, hash_api_key, hash_password, new_api_key
from justtrades.models import Account, ApiKey, BrokerConnection, User


def connection_spec(conn: BrokerConnection) -> ConnectionSpec:
    """What the broker registry needs of a stored connection."""
    assert conn.id is not None
    return ConnectionSpec(
        conn.id,
        conn.user_id,
        conn.broker,
        conn.environment,
        conn.base_url,
        conn.credentials_encrypted,
        conn.updated_at,
    )


class AdminError(ValueError):
    """Said to the user as it is (a 4xx or a CLI error)."""


async def user_by_email(s: AsyncSession, email: str) -> User | None:
    found: User | None = (
        (await s.execute(select(User).where(User.email == email.strip().lower()))).scalars().first()
    )
    return found


async def create_user(
    s: AsyncSession, clock: Clock, email: str, password: str, *, admin: bool = False
) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise AdminError(f"not an e-mail address: {email!r}")
    if len(password) < 8:
        raise AdminError("the password needs at least 8 characters")
    if await user_by_email(s, email) is not None:
        raise AdminError(f"a user {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        is_admin=admin,
        is_approved=True,
        created_at=clock.now(),
    )
    s.add(user)
    await s.flush()
    return user


async def create_api_key(s: AsyncSession, clock: Clock, user: User, name: str = "default") -> str:
    """A new key: shown once, stored only as its hash."""
    assert user.id is not None
    key = new_api_key()
    s.add(
        ApiKey(
            user_id=user.id,
            name=name,
            prefix=key[:12],
            key_hash=hash_api_key(key),
            created_at=clock.now(),
        )
    )
    await s.flush()
    return key


async def link_connection(
    s: AsyncSession,
    clock: Clock,
    box: SecretBox,
    registry: BrokerRegistry,
    user: User,
    *,
    broker: str,
    name: str,
    environment: str,
    base_url: str | None,
    secret: dict[str, Any],
) -> tuple[BrokerConnection, list[Account]]:
    """Store the connection (credentials sealed), log in, and record the accounts found."""
    assert user.id is not None
    if broker == "tradovate" and (not secret.get("username") or not secret.get("password")):
        raise AdminError("a Tradovate connection needs username and password")
    if environment == "custom" and not base_url:
        raise AdminError("environment custom needs base_url")
    now = clock.now()
    conn = BrokerConnection(
        user_id=user.id,
        broker=broker,
        name=name,
        environment=environment,
        base_url=base_url,
        username=secret.get("username"),
        credentials_encrypted=box.seal(secret, credentials_context(user.id)),
        status="new",
        created_at=now,
        updated_at=now,
    )
    s.add(conn)
    await s.flush()
    assert conn.id is not None
    spec = connection_spec(conn)
    try:
        client = registry.build(spec)
        await client.connect()
        found = await client.list_accounts()
    except (BrokerError, ValueError) as e:
        raise AdminError(f"the broker refused the connection: {e}") from None
    conn.status = "connected"
    accounts = [
        Account(
            user_id=user.id,
            connection_id=conn.id,
            broker_account_id=a.account_id,
            name=a.name,
            active=a.active,
            created_at=now,
        )
        for a in found
    ]
    s.add_all(accounts)
    await s.flush()
    registry.put(spec, client)
    return conn, accounts
