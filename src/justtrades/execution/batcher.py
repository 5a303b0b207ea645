"""Group commit: the engine's writes that are submitted at about the same time share one
transaction, and writes of the same statement share one `executemany`.

One signal to 200 accounts wants 200 write-ahead records committed before its 200 orders leave;
committed one by one, SQLite's single write lock spaces the orders several ms apart and
PostgreSQL pays a round trip and a session per record. Here every caller submits its write and
waits for its commit; one writer task takes everything pending, writes it in one transaction
and answers them all. A write is acknowledged only once its transaction is committed, so the
write-ahead rule holds: an order leaves only after its record is durable.

A batch that fails (a constraint, a row deleted meanwhile) is split in halves, each committed
on its own, until the bad write fails alone and the others are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justtrades.logs import get_logger

log = get_logger("justtrades.batcher")

MAX_BATCH = 1000


@dataclass
class Write:
    """One statement's parameters. Writes with the same `key` run as one executemany; a
    `returning` write is answered with the value its statement returns (an inserted id)."""

    key: Hashable
    statement: Executable
    params: dict[str, Any]
    returning: bool = False
    # The statement's returned ids come in any order, but rows inserted by one statement get
    # ascending ids in parameter order (SQLite's rowid under its one writer): sort them.
    ids_ascending: bool = False
    done: asyncio.Future[Any] = field(default_factory=lambda: _future())


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


class WriteBatcher:
    def __init__(self, db: AsyncEngine, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[Write] = []
        self._wake = asyncio.Event()
        self._busy = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopped = False
        self.batches = 0  # how many transactions were committed (for tests and benchmarks)
        self.writes = 0

    def submit(self, write: Write) -> asyncio.Future[Any]:
        if self._stopped:
            write.done.set_exception(WriterStopped("the database writer is stopped"))
            return write.done
        self._pending.append(write)
        self._idle.clear()
        self._wake.set()
        return write.done

    async def write(self, write: Write) -> Any:
        return await self.submit(write)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def idle(self) -> None:
        """Until every write submitted so far is committed (or failed)."""
        await self._idle.wait()

    async def run(self) -> None:
        """The writer task (run under the supervisor). A crash of one batch fails its writes,
        never the loop; what is pending when the task is restarted is kept. Stopped (cancelled),
        it fails what is pending and refuses new writes: nobody waits forever."""
        self._stopped = False
        try:
            await self._run()
        except asyncio.CancelledError:
            self._stopped = True
            pending, self._pending = self._pending, []
            for w in pending:
                if not w.done.done():
                    w.done.set_exception(WriterStopped("the database writer stopped"))
            self._idle.set()
            raise

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            batch, self._pending = (
                self._pending[: self.max_batch],
                self._pending[self.max_batch :],
            )
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                # Stopped in the middle of a commit: whether it landed is not known, so these
                # writes are neither retried (a double) nor dropped silently.
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(WriterStopped("the writer stopped during a commit"))
                raise

    async def _commit(self, batch: list[Write]) -> None:
        try:
            async with self.db.begin() as conn:
                results = await _apply(conn, batch)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if len(batch) == 1 or not isinstance(e, DataError | IntegrityError):
                # Not one bad write (a lost connection, a failed COMMIT): whether it landed
                # is not known, so nothing is replayed; every write of the batch fails.
                log.error("writes failed", writes=len(batch), error=f"{type(e).__name__}: {e}")
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(e)
                return
            # Halves, each in its own transaction: a bad write is found in log2(n) commits
            # and the others are written.
            log.warning("a batch of writes failed: split in two", writes=len(batch))
            half = len(batch) // 2
            await self._commit(batch[:half])
            await self._commit(batch[half:])
            return
        self.batches += 1
        self.writes += len(batch)
        for w, result in zip(batch, results, strict=True):
            if not w.done.done():
                w.done.set_result(result)


class WriterStopped(Exception):
    pass


async def _apply(conn: AsyncConnection, batch: Sequence[Write]) -> list[Any]:
    """Run the batch, the writes of one statement together as one executemany, statements in
    the order they first appear. Writes in one batch were all pending at once, so none of them
    waited for another; what must follow a write is submitted after its commit was answered
    (and a conditional update, like "executing unless already finished", guards the rest)."""
    groups: dict[Hashable, list[int]] = {}
    for i, w in enumerate(batch):
        groups.setdefault(w.key, []).append(i)
    results: list[Any] = [None] * len(batch)
    for indexes in groups.values():
        first = batch[indexes[0]]
        params = [batch[i].params for i in indexes]
        rows = await conn.execute(first.statement, params if len(params) > 1 else params[0])
        if first.returning:
            values = list(rows.scalars().all())
            if first.ids_ascending:
                values.sort()
            if len(values) != len(indexes):
                raise RuntimeError(f"{len(indexes)} writes returned {len(values)} values")
            for i, value in zip(indexes, values, strict=True):
                results[i] = value
    return results
