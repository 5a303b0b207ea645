"""Every row belongs to a user: deleting the user deletes all of it, and a row can never tie
together objects of two users. Same behaviour on both backends (SQLite needs its foreign keys
switched on for every connection, which the engine does)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from tests.dbfixtures import add_user_rows

from justtrades.models import (
    Account,
    BrokerConnection,
    Execution,
    PositionSnapshot,
    Signal,
    Trader,
    User,
    db,
)

Sessions = async_sessionmaker[db.AsyncSession]


async def _row_counts(session: db.AsyncSession) -> dict[str, int]:
    counts = {}
    for table in db.metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts


async def test_deleting_a_user_deletes_everything_of_theirs(session_factory: Sessions) -> None:
    async with session_factory() as session:
        alice = await add_user_rows(session, "alice")
        await add_user_rows(session, "bob")
        await session.commit()
        assert set((await _row_counts(session)).values()) == {2}

        await session.delete(await session.get(User, alice.user.id))
        await session.commit()
        # Every table, not a hand-picked list: a table added later is covered too.
        assert await _row_counts(session) == {t: 1 for t in db.metadata.tables}
        owners = await session.scalars(select(User.email))
        assert owners.all() == ["bob@example.com"]


async def test_bulk_delete_cascades_too(session_factory: Sessions) -> None:
    async with session_factory() as session:
        await add_user_rows(session, "carol")
        await session.commit()
        await session.execute(delete(User))
        await session.commit()
        assert set((await _row_counts(session)).values()) == {0}


async def test_deleting_a_connection_keeps_execution_history(session_factory: Sessions) -> None:
    async with session_factory() as session:
        rows = await add_user_rows(session)
        await session.commit()
        await session.execute(delete(BrokerConnection))
        await session.commit()
        counts = await _row_counts(session)
    for gone in (BrokerConnection, Account, Trader, PositionSnapshot):
        assert counts[gone.__tablename__] == 0, gone.__name__
    assert counts[Signal.__tablename__] == 1 and counts["broker_calls"] == 1
    async with session_factory() as session:
        execution = await session.get(Execution, rows.execution.id)
    assert execution is not None
    assert (execution.trader_id, execution.account_id) == (None, None)


async def test_foreign_keys_are_enforced(session_factory: Sessions) -> None:
    async with session_factory() as session:
        conn = await session.connection()
        with pytest.raises(IntegrityError):
            await conn.execute(
                text(
                    "INSERT INTO position_snapshots (account_id, symbol, net_pos, taken_at) "
                    "VALUES (999, 'NQZ6', 0, '2026-01-01 00:00:00')"
                )
            )


@pytest.mark.parametrize("link", ["trader_strategy", "trader_account", "account", "signal"])
async def test_rows_cannot_link_two_users(session_factory: Sessions, link: str) -> None:
    async with session_factory() as session:
        alice = await add_user_rows(session, "alice")
        bob = await add_user_rows(session, "bob")
        await session.commit()
        assert bob.user.id is not None
        if link == "trader_strategy":  # Bob's trader on Alice's strategy
            row: object = Trader(
                user_id=bob.user.id, strategy_id=alice.strategy.id, account_id=bob.account.id
            )
        elif link == "trader_account":  # Bob's strategy trading Alice's account
            row = Trader(
                user_id=bob.user.id, strategy_id=bob.strategy.id, account_id=alice.account.id
            )
        elif link == "account":
            row = Account(
                user_id=bob.user.id,
                connection_id=alice.connection.id,
                broker_account_id="X1",
                name="X1",
            )
        else:
            row = Signal(
                user_id=bob.user.id,
                strategy_id=alice.strategy.id,
                body="{}",
                body_hash="0" * 64,
                status="accepted",
            )
        session.add(row)
        with pytest.raises(IntegrityError):
            await session.flush()
