"""Producing a known log and waiting for the projector: shared by the ledger's integration
tests and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select

from ledger.catalog import new_event
from ledger.envelope import Event
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import EventRow
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess
from tests.builders import make_pod_registered, make_pod_unregistered, make_pod_updated

# Where no chain answers: a worker's anchor processor then holds its records and retries,
# and projection tests never write to a developer's chain. Anchoring tests pass their own.
NO_CHAIN = "http://127.0.0.1:9"


ISOLATED_PREFIXES: list[str] = []
"""Every topic prefix ``isolated`` handed out in this session: the ``stack`` fixture
deletes their topics at the end, so runs do not pile partitions up on the broker."""


def isolated(settings: Settings, **overrides: object) -> Settings:
    """Settings with topics and a consumer group of their own, so tests never share a log.

    The worker runs the ledger's processors (projector, anchor) unless ``processors`` is
    overridden: the backbone's tests count events, and the DSO answers every PodRegistered
    with one of its own."""
    run = uuid.uuid4().hex[:10]
    ISOLATED_PREFIXES.append(f"t{run}.")
    return settings.model_copy(update={"topic_prefix": f"t{run}.", "app_id": f"test-{run}",
                                       "chain_url": NO_CHAIN,
                                       "processors": "projector,anchor", **overrides})


def registry_log(registrations: int, updates: int, unregistrations: int) -> list[Event]:
    """Registrations, then updates and unregistrations of the first PoDs, in that order."""
    events = [new_event(make_pod_registered(pod_id=f"POD-{i:06d}"), actor="AGG-1")
              for i in range(registrations)]
    events += [new_event(make_pod_updated(pod_id=f"POD-{i:06d}"), actor="AGG-1")
               for i in range(updates)]
    events += [new_event(make_pod_unregistered(pod_id=f"POD-{i:06d}"), actor="AGG-1")
               for i in range(unregistrations)]
    return events


def publish(settings: Settings, events: list[Event]) -> None:
    ensure_topics(settings)
    with EventProducer(settings) as producer:
        producer.publish_all(events)


def count_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(EventRow)) or 0


def wait_for(condition: Callable[[], bool], worker: WorkerProcess, timeout_s: float,
             what: str) -> None:
    worker.wait_until(condition, what=what, timeout_s=timeout_s)


def project(settings: Settings, url: str, expected: int, log_dir: Path) -> Engine:
    """Migrate an empty database and let a worker project the whole log into it."""
    upgrade(url)
    settings = settings.model_copy(update={"database_url": url})
    engine = create_engine(url)
    with WorkerProcess(settings, log_dir / f"worker-{settings.app_id}.log") as worker:
        wait_for(lambda: count_events(engine) >= expected, worker, 180, f"{expected} events")
    return engine
