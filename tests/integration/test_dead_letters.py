"""Bad records on a catalog topic are moved aside with their reason, never dropped, and the
projector keeps going."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import create_engine, func, select

from ledger.catalog import new_event
from ledger.envelope import seal
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import DeadLetterRow
from ledger.topics import Topic, ensure_topics, topic_name
from ledger.worker_process import WorkerProcess
from tests.builders import make_pod_registered
from tests.integration.projection_harness import count_events, isolated, wait_for

pytestmark = pytest.mark.integration


def _bad_records() -> dict[str, tuple[bytes, bytes]]:
    """One record per reason, all keyed POD-BAD so they share a partition."""
    good = new_event(make_pod_registered(pod_id="POD-BAD"), actor="AGG-1")
    tampered = copy.deepcopy(good.to_json_dict())
    tampered["payload"]["customer_id"] = "SOMEONE-ELSE"
    unknown = seal(type="PodTeleported", version=1, actor="AGG-1", key="POD-BAD",
                   payload=good.payload)
    return {
        "EVENT_NOT_JSON": (b"POD-BAD", b"\x00not json"),
        "EVENT_INVALID": (b"POD-BAD", json.dumps({"type": "PodRegistered"}).encode()),
        "EVENT_HASH_MISMATCH": (b"POD-BAD", json.dumps(tampered).encode()),
        "UNKNOWN_EVENT_TYPE": (b"POD-BAD", unknown.to_bytes()),
        "RECORD_KEY_MISMATCH": (b"POD-ELSEWHERE", good.to_bytes()),
    }


def test_malformed_and_unknown_events_go_to_the_dead_letter_topic(
        stack: Settings, empty_database: str, tmp_path: Path) -> None:
    settings = isolated(stack, database_url=empty_database)
    ensure_topics(settings)
    upgrade(empty_database)
    bad = _bad_records()
    after = new_event(make_pod_registered(pod_id="POD-BAD", customer_id="CUST-AFTER"),
                      actor="AGG-1")
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    registry = topic_name(settings, Topic.REGISTRY)
    # The good event follows the bad ones on their partition: the projector must get past
    # every one of them to reach it.
    for key, value in bad.values():
        producer.send(registry, key=key, value=value, partition=0)
    producer.send(registry, key=b"POD-BAD", value=after.to_bytes(), partition=0)
    producer.flush()
    producer.close()

    engine = create_engine(empty_database)
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        wait_for(lambda: count_events(engine) == 1, worker, 120, "the good event")

    with engine.connect() as conn:
        codes = set(conn.scalars(select(DeadLetterRow.code)))
        assert conn.scalar(select(func.count()).select_from(DeadLetterRow)) == len(bad)
    assert codes == set(bad)

    consumer = KafkaConsumer(topic_name(settings, Topic.DEAD_LETTERS),
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    dead = [dict(m.headers) for m in consumer]
    consumer.close()
    assert {h["code"].decode() for h in dead} == set(bad)
    assert all(h["reason"] and h["source"].startswith(registry.encode()) for h in dead)
