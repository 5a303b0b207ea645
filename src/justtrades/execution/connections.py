"""The group-commit writer's own connection (execution/batcher.py).

A pool checkout costs a reset and, on PostgreSQL, a pre-ping: as much again as the transaction.
So the writer keeps one connection. On PostgreSQL it is an async connection. On SQLite it is a
plain `sqlite3` connection in a thread of its own: aiosqlite hands every statement, fetch and
COMMIT to its thread and back (a few hundred µs each), while here a whole batch is one hop.

A connection found broken before the COMMIT was sent is replaced and the batch written again,
once (a transaction that never reached its COMMIT has not landed); a failure of the COMMIT
itself leaves the outcome unknown, so nothing is replayed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from justtrades.execution.batcher import Backend, Write, bound, collect, rounds
from justtrades.logs import get_logger

log = get_logger("justtrades.batcher")

CLOSE_TIMEOUT_SECS = 5.0


def _broken(e: BaseException, invalidated: bool) -> bool:
    return invalidated or (isinstance(e, DBAPIError) and e.connection_invalidated)


class AsyncBackend:
    """Async connections of the writer's own. A batch of one write (one statement, one row:
    atomic by itself) goes on a second connection in autocommit: no BEGIN and COMMIT round
    trips. Its fate is unknown if that connection breaks under it (never replayed), so it is
    used only while it was used within the last IDLE_SECS; after a longer pause (it may have
    been cut off meanwhile: a server restart) the write goes in a transaction, which is
    replayed safely, once, on a new connection when that one turns out broken."""

    IDLE_SECS = 1.0

    def __init__(self, db: AsyncEngine) -> None:
        self.db = db
        # Not for SQLite (an in-memory database): its connections share one, and autocommit
        # on one would end the atomicity of the other's batches.
        self.autocommit = db.dialect.name != "sqlite"
        self._conn: AsyncConnection | None = None
        self._auto: AsyncConnection | None = None
        self._auto_used = float("-inf")  # the loop's time of its last success

    async def transaction(self, batch: list[Write]) -> list[Any]:
        loop = asyncio.get_running_loop()
        if not self.autocommit or len(batch) != 1 or batch[0].after is not None:
            return await self._transaction(batch)
        if self._auto is not None and loop.time() - self._auto_used <= self.IDLE_SECS:
            results = await self._autocommit(self._auto, batch)
            self._auto_used = loop.time()
            return results
        results = await self._transaction(batch)
        if self._auto is not None:  # idle too long to trust: a fresh (pre-pinged) one instead
            stale, self._auto = self._auto, None
            await _close(stale)
        if self._auto is None:  # written: an autocommit connection for the next ones
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_SECS):
                    conn = await self.db.connect()
                    self._auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                self._auto_used = loop.time()
            except Exception as e:  # the write is committed: it stays answered as such
                log.warning("no autocommit connection", error=f"{type(e).__name__}: {e}")
        return results

    async def _autocommit(self, auto: AsyncConnection, batch: list[Write]) -> list[Any]:
        try:
            return await _run(auto, batch)
        except Exception as e:
            if _broken(e, auto.invalidated):
                await _close(auto)  # its write's fate unknown: never replayed
                self._auto = None
            raise

    async def _transaction(self, batch: list[Write]) -> list[Any]:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = await self.db.connect()
            conn = self._conn
            try:
                transaction = await conn.begin()
                results = await _run(conn, batch)
            except Exception as e:
                if _broken(e, conn.invalidated):
                    await self.drop()
                    if attempt == 1:
                        log.warning("writer connection broken: written again", writes=len(batch))
                        continue
                else:
                    await self._rollback(conn)
                raise
            try:
                await transaction.commit()
            except BaseException:
                await self.drop()  # the COMMIT's fate is unknown; the connection's too
                raise
            return results
        raise AssertionError("unreachable")

    async def _rollback(self, conn: AsyncConnection) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_SECS):
                await conn.rollback()
        except Exception as e:
            log.debug("rollback failed", error=f"{type(e).__name__}: {e}")
            await self.drop()

    async def drop(self) -> None:
        conn, self._conn = self._conn, None
        auto, self._auto = self._auto, None
        for c in (conn, auto):
            if c is not None:
                await _close(c)


async def _run(conn: AsyncConnection, batch: list[Write]) -> list[Any]:
    """The batch's statements in their order (`rounds`), each write's result."""
    results: list[Any] = [None] * len(batch)
    for groups in rounds(batch):
        for group in groups:
            rows = await conn.execute(batch[group[0]].statement, bound(batch, group, results))
            collect(batch, group, rows, results)
    return results


async def _close(conn: AsyncConnection) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_SECS):
            await conn.invalidate()
            await conn.close()
    except Exception as e:  # already broken: nothing more to release
        log.debug("writer connection dropped", error=f"{type(e).__name__}: {e}")


class ThreadBackend:
    """A sqlite3 connection used only by one thread of its own; each batch is one hop to that
    thread and back. Set up as the async engine's connections are (busy timeout, WAL,
    synchronous NORMAL, foreign keys on). The batch's order (`rounds`, which settles
    dependencies and so touches the loop's futures) is worked out on the loop; the thread sees
    statements and parameters only. A stop replaces the thread and its connection together,
    so a thread left finishing a transaction never touches its successor's connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._worker: _Worker | None = None

    async def transaction(self, batch: list[Write]) -> list[Any]:
        if self._worker is None:
            self._worker = _Worker(self.engine)
        worker = self._worker
        plan = rounds(batch)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(worker.thread, worker.transaction, batch, plan)

    async def drop(self) -> None:
        """Closes the connection in its thread, after whatever that thread is running (a
        transaction cut off by a stop finishes or fails there first); bounded."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            done = asyncio.get_running_loop().run_in_executor(worker.thread, worker.close)
            await asyncio.wait_for(done, CLOSE_TIMEOUT_SECS)
        except Exception as e:
            log.warning("writer connection not closed in time", error=f"{type(e).__name__}: {e}")
        finally:
            worker.thread.shutdown(wait=False, cancel_futures=True)


class _Worker:
    """One thread and the connection only it uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread = concurrent.futures.ThreadPoolExecutor(1, "jt-db-writer")
        self.conn: Connection | None = None

    def transaction(self, batch: list[Write], plan: list[list[list[int]]]) -> list[Any]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self.engine.connect()
            conn = self.conn
            results: list[Any] = [None] * len(batch)
            transaction = None
            try:
                transaction = conn.begin()
                for groups in plan:
                    for group in groups:
                        rows = conn.execute(batch[group[0]].statement, bound(batch, group, results))
                        collect(batch, group, rows, results)
            except Exception as e:
                if _broken(e, conn.invalidated):
                    self.close()
                    if attempt == 1:
                        continue
                elif transaction is not None:
                    try:
                        transaction.rollback()
                    except Exception:
                        self.close()
                raise
            try:
                transaction.commit()
            except BaseException:
                self.close()  # the COMMIT's fate is unknown
                raise
            return results
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception as e:
                log.debug("writer connection dropped", error=f"{type(e).__name__}: {e}")


def backend_for(db: AsyncEngine) -> Backend:
    """The writer's connection for `db`: a thread of its own for a SQLite file, else async."""
    url = db.url
    if db.dialect.name != "sqlite" or not url.database or url.database == ":memory:":
        return AsyncBackend(db)
    from justtrades.models.db import install_sqlite_setup

    engine = create_engine(url.set(drivername="sqlite"), poolclass=NullPool, hide_parameters=True)
    install_sqlite_setup(engine, wal=True, migrating=False)
    return ThreadBackend(engine)
