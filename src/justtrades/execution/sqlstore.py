"""The signal store on the database: every write goes through the group-commit writer
(execution/batcher.py), as Core statements that write without reading first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, cast, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from justtrades.execution.batcher import Write, WriteBatcher
from justtrades.execution.connections import backend_for
from justtrades.execution.store import CallRecord, ExecutionRecord, SignalRecord
from justtrades.logs import get_logger
from justtrades.models import BrokerCall, Execution, Signal

log = get_logger("justtrades.store")

SIGNALS: Table = Signal.__table__  # type: ignore[attr-defined]
EXECUTIONS: Table = Execution.__table__  # type: ignore[attr-defined]
CALLS: Table = BrokerCall.__table__  # type: ignore[attr-defined]


def _insert(table: Table, sqlite: bool) -> Any:
    """INSERT ... RETURNING id for many rows in one statement. PostgreSQL is asked to return the
    ids in parameter order; on SQLite that request makes SQLAlchemy send one statement per
    row (45 ms instead of 8 for 200 rows), and is not needed: one statement under SQLite's
    single writer numbers its rows in order, so the returned ids are sorted instead."""
    if sqlite:
        return insert(table).returning(table.c.id)
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _by_id(table: Table, *names: str) -> Any:
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"v_{name}") for name in names})
    )


SIGNAL_EXECUTING = (
    update(SIGNALS)
    .where(SIGNALS.c.id == bindparam("row_id"), SIGNALS.c.status == "accepted")
    .values(status="executing", timings=bindparam("v_timings"))
)
FINISH_CALL = _by_id(CALLS, "outcome", "response", "error", "latency_ms", "finished_at")
EXECUTION_FIELDS = ("status", "result", "error", "finished_at")
SIGNAL_FIELDS = ("status", "status_reason", "finished_at")


_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns if c.name != "id") for t in (SIGNALS, EXECUTIONS, CALLS)
}


def _execution_with_call() -> Any:
    """PostgreSQL: an execution's row and its first call's, in one statement (one round trip,
    atomic): `WITH e AS (INSERT INTO executions ... RETURNING id) INSERT INTO broker_calls
    SELECT e.id, ... FROM e RETURNING execution_id, id`. Parameters `e_<column>`, `c_<column>`."""
    columns = _COLUMNS["executions"]
    e = (
        insert(EXECUTIONS)
        .values({n: bindparam(f"e_{n}", type_=EXECUTIONS.c[n].type) for n in columns})
        .returning(EXECUTIONS.c.id)
        .cte("e")
    )
    names = [n for n in _COLUMNS["broker_calls"] if n != "execution_id"]
    values = [cast(bindparam(f"c_{n}", type_=CALLS.c[n].type), CALLS.c[n].type) for n in names]
    return (
        insert(CALLS)
        .from_select(["execution_id", *names], select(e.c.id, *values))
        .returning(CALLS.c.execution_id, CALLS.c.id)
    )


def _values(row: Any, table: Table) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COLUMNS[table.name]}


def _named(values: dict[str, Any], row_id: int) -> dict[str, Any]:
    return {"row_id": row_id, **{f"v_{k}": v for k, v in values.items()}}


class SqlStore:
    def __init__(self, db: AsyncEngine) -> None:
        self.batcher = WriteBatcher(backend_for(db))
        self.sqlite = db.dialect.name == "sqlite"
        self.insert_signal = _insert(SIGNALS, self.sqlite)
        self.insert_execution = _insert(EXECUTIONS, self.sqlite)
        self.insert_call = _insert(CALLS, self.sqlite)
        self.execution_with_call = None if self.sqlite else _execution_with_call()
        self._updates: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _update(self, table: Table, names: tuple[str, ...]) -> tuple[Any, Any]:
        key = (table.name, names)
        statement = self._updates.get(key)
        if statement is None:
            statement = self._updates[key] = _by_id(table, *names)
        return key, statement

    def _insert_write(self, statement: Any, table: Table, row: Any) -> Write:
        return Write(
            statement, statement, _values(row, table), returning=True, ids_ascending=self.sqlite
        )

    async def _insert(self, statement: Any, table: Table, row: Any) -> int:
        new_id = await self.batcher.write(self._insert_write(statement, table, row))
        row.id = new_id
        return int(new_id)

    async def add_signal(self, row: SignalRecord) -> int:
        """The webhook's INSERT. A webhook cancelled while its INSERT is being committed (a
        client gone, a shutdown) still learns its id when the commit lands, so the engine
        queues what it stored instead of leaving an accepted row behind."""
        done = self.batcher.submit(self._insert_write(self.insert_signal, SIGNALS, row))
        try:
            new_id = await asyncio.shield(done)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                row.id = await asyncio.wait_for(asyncio.shield(done), timeout=10)
            raise
        row.id = new_id
        return int(new_id)

    async def add_execution(
        self,
        row: ExecutionRecord,
        calls: Sequence[CallRecord] = (),
        signal_timings: dict[str, Any] | None = None,
    ) -> int:
        """One commit when the writer is free: the execution's INSERT, the signal's mark and the
        calls' INSERTs bound to the new id (see WriteBatcher: dependent writes). A trader's
        first write-ahead record on PostgreSQL: one statement with its execution's row."""
        if (
            self.execution_with_call is not None
            and len(calls) == 1
            and signal_timings is None
            and not self.batcher.pending  # likely alone: a fan-out's go as two executemany
        ):
            [call] = calls
            params = {f"e_{k}": v for k, v in _values(row, EXECUTIONS).items()}
            params.update((f"c_{k}", v) for k, v in _values(call, CALLS).items())
            del params["c_execution_id"]
            statement = self.execution_with_call
            row.id, call.id = await self.batcher.write(
                Write(statement, statement, params, returning=True, whole_row=True, many=False)
            )
            call.execution_id = row.id
            return int(row.id)
        execution = self._insert_write(self.insert_execution, EXECUTIONS, row)
        inserted = self.batcher.submit(execution)
        if signal_timings is not None:
            self.mark_executing(row.signal_id, signal_timings)
        written = []
        for call in calls:
            write = self._insert_write(self.insert_call, CALLS, call)
            write.after, write.bind = execution, _execution_id
            done = self.batcher.submit(write)
            done.add_done_callback(_logged)
            written.append(done)
        row.id = await inserted
        for call, done in zip(calls, written, strict=True):
            call.id = await done
            call.execution_id = row.id
        return int(row.id)

    def mark_executing(self, signal_id: int, signal_timings: dict[str, Any]) -> None:
        marked = self.batcher.submit(
            Write(
                SIGNAL_EXECUTING,
                SIGNAL_EXECUTING,
                {"row_id": signal_id, "v_timings": dict(signal_timings)},
            )
        )
        marked.add_done_callback(_logged)

    async def add_call(self, row: CallRecord) -> int:
        return await self._insert(self.insert_call, CALLS, row)

    def add_read(self, row: CallRecord) -> None:
        done = self.batcher.submit(self._insert_write(self.insert_call, CALLS, row))
        done.add_done_callback(_logged)

    async def finish_call(
        self,
        call_id: int,
        outcome: str,
        response: dict[str, Any] | None,
        error: str | None,
        latency_ms: float,
        finished_at: datetime,
    ) -> None:
        values = {
            "outcome": outcome,
            "response": response,
            "error": error,
            "latency_ms": latency_ms,
            "finished_at": finished_at,
        }
        await self.batcher.write(Write(FINISH_CALL, FINISH_CALL, _named(values, call_id)))

    async def finish_execution(
        self,
        execution_id: int,
        status: str,
        plan: dict[str, Any] | None,
        result: str | None,
        error: str | None,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "result": result,
            "error": error,
            "finished_at": finished_at,
        }
        if plan is not None:
            values["plan"] = plan
        if timings:
            values["timings"] = dict(timings)
        key, statement = self._update(EXECUTIONS, tuple(values))
        await self.batcher.write(Write(key, statement, _named(values, execution_id)))

    async def finish_signal(
        self,
        signal_id: int,
        status: str,
        reason: str,
        timings: dict[str, Any] | None,
        finished_at: datetime,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "status_reason": reason,
            "finished_at": finished_at,
        }
        if timings:
            values["timings"] = dict(timings)
        key, statement = self._update(SIGNALS, tuple(values))
        await self.batcher.write(Write(key, statement, _named(values, signal_id)))

    async def idle(self) -> None:
        await self.batcher.idle()


def _execution_id(new_id: Any) -> dict[str, Any]:
    return {"execution_id": new_id}


def _logged(done: asyncio.Future[Any]) -> None:
    """A write nobody waits for: its failure is logged (the batcher logged the cause)."""
    if not done.cancelled():
        done.exception()  # retrieved: no "exception was never retrieved" warning
