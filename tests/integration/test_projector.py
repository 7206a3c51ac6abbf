"""The projector against the real Kafka broker and both read-model backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from ledger.kafka_log import end_offsets
from ledger.settings import Settings
from ledger.store.digest import table_digests
from ledger.store.migrate import upgrade
from ledger.store.models import EventRow, PodRow, ProjectorOffset
from ledger.topics import Topic, topic_name
from ledger.worker_process import WorkerProcess
from tests.integration.projection_harness import (
    count_events,
    isolated,
    project,
    publish,
    registry_log,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGISTRATIONS, UPDATES, UNREGISTRATIONS = 8_000, 1_900, 100
TOTAL = REGISTRATIONS + UPDATES + UNREGISTRATIONS


@pytest.fixture(scope="module")
def logged(stack: Settings) -> Settings:
    """10,000 registry events on topics of this module's own, published once."""
    settings = isolated(stack)
    publish(settings, registry_log(REGISTRATIONS, UPDATES, UNREGISTRATIONS))
    return settings


def _end_offsets(settings: Settings) -> dict[tuple[str, int], int]:
    """The last offset written in each non-empty registry partition."""
    ends = end_offsets(settings, [topic_name(settings, Topic.REGISTRY)])
    return {position: end - 1 for position, end in ends.items() if end > 0}


def test_10000_events_become_exactly_10000_rows(logged: Settings, empty_database: str,
                                                tmp_path: Path) -> None:
    engine = project(isolated(logged, topic_prefix=logged.topic_prefix), empty_database,
                     TOTAL, tmp_path)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EventRow)) == TOTAL
        assert conn.scalar(select(func.count(func.distinct(EventRow.event_id)))) == TOTAL
        assert conn.scalar(select(func.count()).select_from(PodRow)) == REGISTRATIONS
        assert conn.scalar(select(func.count()).select_from(PodRow)
                           .where(PodRow.active.is_(False))) == UNREGISTRATIONS
        assert conn.scalar(select(func.count()).select_from(PodRow)
                           .where(PodRow.flexibility_type == "discrete")) == UPDATES
        stored = {(topic, partition): offset for topic, partition, offset in conn.execute(
            select(ProjectorOffset.topic, ProjectorOffset.partition, ProjectorOffset.offset))}
    assert stored == _end_offsets(logged), "offsets are stored with the rows they produced"


def test_replay_into_a_fresh_database_gives_identical_digests(
        logged: Settings, fresh_database_factory, tmp_path: Path) -> None:
    """Read models are disposable: two replays from offset 0, on SQLite and on PostgreSQL,
    give byte-identical table digests."""
    digests = []
    for backend in ("sqlite", "postgresql", "postgresql"):
        consumer = isolated(logged, topic_prefix=logged.topic_prefix)
        engine = project(consumer, fresh_database_factory(backend), TOTAL, tmp_path)
        digests.append(table_digests(engine))
    assert digests[0]["events"]["rows"] == TOTAL
    assert digests[0] == digests[1] == digests[2]


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
        logged: Settings, empty_database: str, fresh_database_factory, tmp_path: Path) -> None:
    """SIGKILL mid-stream, restart: every event projected once; read models equal a clean
    replay's."""
    # Small batches so the kill lands between commits, with work on both sides of it.
    consumer = isolated(logged, topic_prefix=logged.topic_prefix, database_url=empty_database,
                        projector_batch_size=100, projector_batch_seconds=0.05)
    upgrade(empty_database)
    engine = create_engine(empty_database)
    worker = WorkerProcess(consumer, tmp_path / "killed.log").start()
    wait_for(lambda: count_events(engine) >= 2_000, worker, 120, "2,000 events")
    worker.kill()
    killed_at = count_events(engine)
    assert killed_at < TOTAL, "the kill must land mid-stream for this test to mean anything"

    with WorkerProcess(consumer, tmp_path / "restarted.log") as restarted:
        wait_for(lambda: count_events(engine) >= TOTAL, restarted, 180, "all events")

    clean = project(isolated(logged, topic_prefix=logged.topic_prefix),
                    fresh_database_factory(engine.dialect.name), TOTAL, tmp_path)
    assert table_digests(engine) == table_digests(clean)
