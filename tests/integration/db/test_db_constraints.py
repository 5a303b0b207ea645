"""Unique and check constraints hold on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from tests.dbfixtures import UserRows, add_user_rows

from justtrades.models import (
    Account,
    ApiKey,
    BrokerCall,
    BrokerConnection,
    Execution,
    Signal,
    Strategy,
    Trader,
    User,
    db,
)
from justtrades.models.base import Base

Sessions = async_sessionmaker[db.AsyncSession]

# Each case: a row that breaks one constraint, given Alice's rows and Bob's rows.
CASES: dict[str, Callable[[UserRows, UserRows], Base]] = {
    "duplicate webhook token (even another user's)": lambda a, b: Strategy(
        user_id=b.user.id, name="copy", webhook_token=a.strategy.webhook_token, symbol="ES1!"
    ),
    "second trader for the same strategy and account": lambda a, b: Trader(
        user_id=a.user.id, strategy_id=a.strategy.id, account_id=a.account.id
    ),
    "duplicate api key hash": lambda a, b: ApiKey(
        user_id=b.user.id, name="dup", prefix="jt_x", key_hash=a.api_key.key_hash
    ),
    "duplicate email": lambda a, b: User(email=a.user.email, password_hash="x"),
    "same broker account twice on one connection": lambda a, b: Account(
        user_id=a.user.id,
        connection_id=a.connection.id,
        broker_account_id=a.account.broker_account_id,
        name="again",
    ),
    "same broker call step twice": lambda a, b: BrokerCall(
        execution_id=a.execution.id, seq=a.broker_call.seq, endpoint="order/cancel", outcome="ok"
    ),
    "unknown signal status": lambda a, b: Signal(
        user_id=a.user.id, strategy_id=a.strategy.id, body="", body_hash="", status="weird"
    ),
    "unknown execution status": lambda a, b: Execution(signal_id=a.signal.id, status="weird"),
    "unknown broker call outcome": lambda a, b: BrokerCall(
        execution_id=a.execution.id, seq=99, endpoint="x", outcome="maybe"
    ),
    "unknown environment": lambda a, b: BrokerConnection(
        user_id=a.user.id, broker="x", name="x", environment="prod", credentials_encrypted="c"
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_constraint_holds(session_factory: Sessions, case: str) -> None:
    async with session_factory() as session:
        alice = await add_user_rows(session, "alice")
        bob = await add_user_rows(session, "bob")
        await session.commit()
        session.add(CASES[case](alice, bob))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_the_same_broker_account_on_two_connections_is_fine(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        alice = await add_user_rows(session, "alice")
        bob = await add_user_rows(session, "bob")
        assert alice.account.broker_account_id == bob.account.broker_account_id
        await session.commit()


async def test_a_database_error_never_carries_the_bound_values(session_factory: Sessions) -> None:
    # Its text is logged and may be stored as an execution's error: no token in it.
    async with session_factory() as session:
        alice = await add_user_rows(session, "alice")
        bob = await add_user_rows(session, "bob")
        await session.commit()
        token = alice.strategy.webhook_token
        session.add(CASES["duplicate webhook token (even another user's)"](alice, bob))
        with pytest.raises(IntegrityError) as raised:
            await session.commit()
    assert token not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
