"""The read-model writer on both backends: mixed batches, dead letters, exactly-once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, select

from ledger.catalog import new_event
from ledger.projection import DeadLetter, Record, project
from ledger.store.migrate import upgrade
from ledger.store.models import DeadLetterRow, EventRow, PodRow, ProjectorOffset
from ledger.store.writer import ReadModelWriter, make_async_engine
from tests.builders import make_pod_registered, make_pod_unregistered, make_pod_updated

pytestmark = pytest.mark.integration


def _batch() -> list:  # type: ignore[type-arg]
    payloads = [make_pod_registered(pod_id="POD-A"), make_pod_registered(pod_id="POD-B"),
                make_pod_updated(pod_id="POD-A"), make_pod_unregistered(pod_id="POD-B"),
                make_pod_updated(pod_id="POD-B"), make_pod_registered(pod_id="POD-B")]
    records = [Record("registry", 0, offset, None, new_event(p, actor="AGG-1").to_bytes())
               for offset, p in enumerate(payloads)]
    records.append(Record("registry", 0, len(records), b"k", b"\x00\xffnot json"))
    return [project(r) for r in records]


def test_a_mixed_batch_applies_in_order_and_a_repeat_changes_nothing(
        empty_database: str) -> None:
    upgrade(empty_database)
    writer = ReadModelWriter(make_async_engine(empty_database))
    batch = _batch()

    async def write_twice():  # type: ignore[no-untyped-def]
        first = await writer.write(batch)
        second = await writer.write(batch)
        await writer.engine.dispose()
        return first, second

    first, second = asyncio.run(write_twice())
    assert (first.projected, first.duplicates, first.dead_letters) == (6, 0, 1)
    assert (second.projected, second.duplicates) == (0, 6)

    with create_engine(empty_database).connect() as conn:
        pods = {p.pod_id: p for p in conn.execute(select(PodRow)).all()}
        assert pods["POD-A"].flexibility_type == "discrete" and pods["POD-A"].active
        # B was unregistered, updated, then registered again: active with fresh limits.
        assert pods["POD-B"].active and pods["POD-B"].flexibility_type == "continuous"
        assert conn.scalar(select(EventRow.offset).order_by(EventRow.offset.desc())) == 5
        assert conn.execute(select(ProjectorOffset.offset)).scalar_one() == 6
        dead = conn.execute(select(DeadLetterRow)).one()
    assert isinstance(batch[-1], DeadLetter)
    assert bytes(dead.raw) == b"\x00\xffnot json" and dead.code == "EVENT_NOT_JSON"
