"""The local broker as the project configures it: catalog topics and transactions."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from ledger.settings import Settings
from ledger.topics import TOPIC_CONFIG, Topic, catalog_topics, ensure_topics, topic_name
from tests.integration.projection_harness import isolated

pytestmark = pytest.mark.integration


def test_catalog_topics_are_created_with_explicit_partitions_and_settings(
        stack: Settings) -> None:
    settings = isolated(stack, topic_partitions=3)
    assert len(ensure_topics(settings)) == len(Topic)
    assert ensure_topics(settings) == [], "a second call creates nothing"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics(
            [spec.name for spec in catalog_topics(settings)])}
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                         topic_name(settings, Topic.READINGS))])
    finally:
        admin.close()
    assert all(len(t["partitions"]) == 3 for t in described.values())
    readings = configs["topic"][topic_name(settings, Topic.READINGS)]
    for name, value in TOPIC_CONFIG.items():
        assert readings[name]["value"] == value, name
        assert readings[name]["config_source"] == "DYNAMIC_TOPIC_CONFIG", "set by the project"
    assert TOPIC_CONFIG["retention.ms"] == "-1", "events are never deleted"


def test_transactions_work_on_the_single_broker(stack: Settings) -> None:
    """Committed transactional records are read; aborted ones are not (read_committed)."""
    settings = isolated(stack)
    topic = topic_name(settings, Topic.SETTLEMENTS)
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap,
                             transactional_id=f"tx-{uuid.uuid4().hex}")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send(topic, key=b"s", value=b"aborted")
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send(topic, key=b"s", value=b"committed")
    producer.commit_transaction()
    producer.close()

    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             consumer_timeout_ms=5_000)
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [b"committed"]


def test_stack_status_reports_kafka_and_postgres_running(stack: Settings) -> None:
    proc = subprocess.run([sys.executable, "-m", "ledger.cli", "stack", "status",
                           "--only", "kafka,postgres"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kafka" in proc.stdout and stack.kafka_bootstrap in proc.stdout
    assert "postgres" in proc.stdout and "running" in proc.stdout
