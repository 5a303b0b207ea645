"""Group commit: the engine's writes that are submitted at about the same time share one
transaction, and writes of the same statement share one `executemany`.

One signal to 200 accounts wants 200 write-ahead records committed before its 200 orders leave;
committed one by one, SQLite's single write lock spaces the orders several ms apart and
PostgreSQL pays a round trip and a session per record. Here every caller submits its write and
waits for its commit; one writer task takes everything pending, writes it in one transaction
and answers them all. A write is acknowledged only once its transaction is committed, so the
write-ahead rule holds: an order leaves only after its record is durable.

A write may depend on another one's result (a trader's first write-ahead record needs the id of
its execution row): submitted with `after`, it is written in the same transaction as that write
when both are pending together (one commit where there would be two in a row), else once that
write is committed.

A batch that fails (a constraint, a row deleted meanwhile) is split in halves, each committed
on its own, until the bad write fails alone and the others are written.

The writer keeps a connection of its own (execution/connections.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.exc import DataError, IntegrityError

from justtrades.logs import get_logger

log = get_logger("justtrades.batcher")

MAX_BATCH = 1000


class Backend(Protocol):
    """The writer's connection (execution/connections.py): runs one batch as one transaction
    (see `rounds`) and returns each write's result."""

    async def transaction(self, batch: list[Write]) -> list[Any]: ...

    async def drop(self) -> None:
        """Lets go of the connection (broken, or the writer stops); bounded."""
        ...


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
    whole_row: bool = False  # answered with the returned row (a tuple), not its first value
    many: bool = True  # False: a statement that cannot run as an executemany (runs alone)
    # A write whose result `bind` turns into this one's parameters (merged over `params`).
    after: Write | None = None
    bind: Callable[[Any], dict[str, Any]] | None = None
    done: asyncio.Future[Any] = field(default_factory=lambda: _future())
    pending: bool = False  # in the writer's queue, not yet taken into a transaction

    def _bound(self) -> None:
        """Takes the result of the write it depends on (which is committed)."""
        assert self.after is not None and self.bind is not None
        self.params = {**self.params, **self.bind(self.after.done.result())}
        self.after = None


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


class WriteBatcher:
    def __init__(self, backend: Backend, max_batch: int = MAX_BATCH) -> None:
        self.backend = backend
        self.max_batch = max_batch
        self._pending: list[Write] = []
        self._wake = asyncio.Event()
        self._busy = False
        self._deferred = 0  # writes waiting for the commit of the write they depend on
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopped = False
        self.batches = 0  # how many transactions were committed (for tests and benchmarks)
        self.writes = 0

    def submit(self, write: Write) -> asyncio.Future[Any]:
        if self._stopped:
            write.done.set_exception(WriterStopped("the database writer is stopped"))
            return write.done
        after = write.after
        if after is not None and after.done.done():
            if _failed(after.done, write):
                return write.done
            write._bound()
        elif after is not None and not after.pending:
            # Its dependency is being committed (or waits for its own): this one follows it.
            self._deferred += 1
            after.done.add_done_callback(lambda _: self._resubmit(write))
            self._idle.clear()
            return write.done
        write.pending = True
        self._pending.append(write)
        self._idle.clear()
        self._wake.set()
        return write.done

    def _resubmit(self, write: Write) -> None:
        self._deferred -= 1
        self.submit(write)
        if not self._pending and not self._deferred and not self._busy:
            self._idle.set()

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
                w.pending = False
                if not w.done.done():
                    w.done.set_exception(WriterStopped("the database writer stopped"))
            self._idle.set()
            raise
        finally:
            await self.backend.drop()

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if not self._deferred:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._pending = (
                self._pending[: self.max_batch],
                self._pending[self.max_batch :],
            )
            for w in batch:
                w.pending = False
            self._busy = True
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                # Stopped in the middle of a commit: whether it landed is not known, so these
                # writes are neither retried (a double) nor dropped silently.
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(WriterStopped("the writer stopped during a commit"))
                await self.backend.drop()  # in an unknown state
                raise
            finally:
                self._busy = False

    async def _commit(self, batch: list[Write]) -> None:
        try:
            results = await self.backend.transaction(batch)
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


class DependencyFailed(Exception):
    """A write whose dependency (the write it needed the result of) failed."""


def _failed(after: asyncio.Future[Any], write: Write) -> bool:
    """Fails `write` when the write it depends on failed."""
    if after.cancelled() or after.exception() is not None:
        if not write.done.done():
            write.done.set_exception(DependencyFailed("the write it depends on failed"))
        return True
    return False


def rounds(batch: Sequence[Write]) -> list[list[list[int]]]:
    """The order a batch runs in: rounds, each a list of groups (indexes of writes of one
    statement, run as one executemany) in the order their statements first appear. A write
    that depends on another of the batch runs in a later round, with that write's result bound
    into its parameters (a write and what depends on it enter the queue in that order, so a
    batch that holds a dependent holds its dependency, or the dependency was committed before:
    its result is bound now). A write whose dependency failed is failed and left out. Other
    writes of one batch were all pending at once, so none of them waited for another."""
    index = {id(w): i for i, w in enumerate(batch)}
    levels: list[int] = []
    skip: set[int] = set()
    for i, w in enumerate(batch):
        level = 0
        if w.done.done():
            skip.add(i)
        elif w.after is not None:
            j = index.get(id(w.after))
            if j is None:  # committed by an earlier part of a split batch (or failed)
                if w.after.done.done() and not _failed(w.after.done, w):
                    w._bound()
                else:
                    if not w.done.done():
                        w.done.set_exception(DependencyFailed("its dependency was not written"))
                    skip.add(i)
            elif j in skip:
                if not w.done.done():
                    w.done.set_exception(DependencyFailed("the write it depends on failed"))
                skip.add(i)
            else:
                level = levels[j] + 1
        levels.append(level)
    plan: list[list[list[int]]] = []
    for level in sorted(set(levels)):
        groups: dict[Hashable, list[int]] = {}
        for i, w in enumerate(batch):
            if levels[i] == level and i not in skip:
                groups.setdefault(w.key if w.many else (w.key, i), []).append(i)
        if groups:
            plan.append(list(groups.values()))
    return plan


def bound(batch: Sequence[Write], group: list[int], results: list[Any]) -> Any:
    """The parameters of one group, the results of the writes they depend on bound in: one
    dict, or a list of them for an executemany."""
    index = {id(w): i for i, w in enumerate(batch)}
    for i in group:
        w = batch[i]
        if w.after is not None:
            assert w.bind is not None
            w.params = {**w.params, **w.bind(results[index[id(w.after)]])}
    params = [batch[i].params for i in group]
    return params if len(params) > 1 else params[0]


def collect(batch: Sequence[Write], group: list[int], rows: Any, results: list[Any]) -> None:
    """What a `returning` group's statement returned (`rows`, a buffered result), one value
    or row per write."""
    first = batch[group[0]]
    if not first.returning:
        return
    values = [tuple(r) for r in rows.all()] if first.whole_row else list(rows.scalars().all())
    if first.ids_ascending:
        values.sort()
    if len(values) != len(group):
        raise RuntimeError(f"{len(group)} writes returned {len(values)} values")
    for i, value in zip(group, values, strict=True):
        results[i] = value
