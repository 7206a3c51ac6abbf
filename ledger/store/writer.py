"""Writes projected batches into the read models, exactly once per event.

Each batch is one transaction: events are inserted with ``ON CONFLICT DO NOTHING``;
only the events that were new apply their read-model changes, and the projector's
offsets are stored in the same transaction. A batch seen again after a crash therefore
changes nothing, which is what makes at-least-once delivery from Kafka safe.

Statements run in executemany form (one statement, a list of parameter sets): compiled
once by SQLAlchemy and pipelined by psycopg. A multi-row ``.values([...])`` or
``INSERT … RETURNING`` would build and parse a statement of thousands of parameters for
every batch, which measured four times slower. Which events are new is therefore asked
with one ``SELECT … IN`` first; the projector is the tables' only writer, so nothing can
slip in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ledger.projection import DeadLetter, Projected, RowChange
from ledger.store.models import Base, DeadLetterRow, EventRow, ProjectorOffset

EVENTS = EventRow.__table__
OFFSETS = ProjectorOffset.__table__
DEAD_LETTERS = DeadLetterRow.__table__
# Ids per SELECT … IN; SQLite allows 32,766 bound parameters, PostgreSQL 65,535.
IN_CLAUSE_IDS = 5000


def async_url(url: str) -> str:
    """The asyncio driver for a configured URL (psycopg 3 serves both sync and async)."""
    if url.startswith("sqlite"):
        return "sqlite+aiosqlite" + url[url.index(":"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg" + url[url.index(":"):]
    return url


def make_async_engine(url: str) -> AsyncEngine:
    return create_async_engine(async_url(url), pool_pre_ping=True)


@dataclass(frozen=True)
class BatchResult:
    projected: int
    duplicates: int
    dead_letters: int


class ReadModelWriter:
    """The projector's only way into SQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported read-model database: {dialect}")
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._events = self._insert(EVENTS).on_conflict_do_nothing()
        offsets = self._insert(OFFSETS)
        self._offsets = offsets.on_conflict_do_update(
            index_elements=["topic", "partition"], set_={"offset": offsets.excluded.offset})
        self._dead_letters = self._insert(DEAD_LETTERS).on_conflict_do_nothing()

    async def write(self, items: Sequence[Projected | DeadLetter]) -> BatchResult:
        """Write one batch in one transaction; returns what was new."""
        projected = [i for i in items if isinstance(i, Projected)]
        dead = [i.row() for i in items if isinstance(i, DeadLetter)]
        async with self.engine.begin() as conn:
            new = await _not_yet_projected(conn, projected)
            if new:
                await conn.execute(self._events, [p.event_row() for p in new])
            await self._apply(conn, [c for p in new for c in p.changes])
            if dead:
                await conn.execute(self._dead_letters, dead)
            if items:
                await conn.execute(self._offsets, _last_offsets(items))
        return BatchResult(len(new), len(projected) - len(new), len(dead))

    async def _apply(self, conn: AsyncConnection, changes: list[RowChange]) -> None:
        # Consecutive changes of the same shape (table, operation, key, columns) go to the
        # database as one executemany; order is kept because a PoD may be registered,
        # updated and unregistered within one batch.
        for (table_name, op, key, _), run in groupby(
                changes, lambda c: (c.table, c.op, c.key, tuple(c.values))):
            rows = [c.values for c in run]
            table = Base.metadata.tables[table_name]
            if op == "upsert":
                # One INSERT … ON CONFLICT may not touch a row twice: the last change wins.
                latest = list({tuple(r[k] for k in key): r for r in rows}.values())
                await conn.execute(self._upsert(table, key, latest[0].keys()), latest)
            else:
                stmt, params = _update_by_key(table, key, rows)
                await conn.execute(stmt, params)

    def _upsert(self, table: Table, key: tuple[str, ...], columns: Any) -> Any:
        stmt = self._insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns if c not in key})


async def _not_yet_projected(conn: AsyncConnection,
                             projected: list[Projected]) -> list[Projected]:
    """The events of the batch not in ``events`` yet, first occurrence only."""
    ids = [str(p.event.event_id) for p in projected]
    seen: set[str] = set()
    for start in range(0, len(ids), IN_CLAUSE_IDS):
        chunk = ids[start:start + IN_CLAUSE_IDS]
        seen.update((await conn.execute(
            select(EVENTS.c.event_id).where(EVENTS.c.event_id.in_(chunk)))).scalars())
    new: list[Projected] = []
    for item, event_id in zip(projected, ids, strict=True):
        if event_id not in seen:
            seen.add(event_id)  # a retried produce may repeat an event within one batch
            new.append(item)
    return new


def _last_offsets(items: Sequence[Projected | DeadLetter]) -> list[dict[str, Any]]:
    last: dict[tuple[str, int], int] = {}
    for item in items:
        position = (item.record.topic, item.record.partition)
        last[position] = max(last.get(position, -1), item.record.offset)
    return [{"topic": t, "partition": p, "offset": o} for (t, p), o in last.items()]


def _update_by_key(table: Table, key: tuple[str, ...],
                   rows: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """An executemany UPDATE; bind names are prefixed because SQLAlchemy reserves the
    column names of the SET clause."""
    columns = [c for c in rows[0] if c not in key]
    stmt = update(table)
    for column in key:
        stmt = stmt.where(table.c[column] == bindparam(f"k_{column}"))
    stmt = stmt.values({c: bindparam(f"v_{c}") for c in columns})
    params = [{**{f"k_{k}": r[k] for k in key}, **{f"v_{c}": r[c] for c in columns}}
              for r in rows]
    return stmt, params
