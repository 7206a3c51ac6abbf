"""The Kafka topics of the event catalog, with their partitioning and settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.settings import Settings


class Topic(StrEnum):
    """Catalog topics (ARCHITECTURE.md "Event catalog"); values are the base names."""

    REGISTRY = "registry"
    SESSIONS = "sessions"
    REQUESTS = "requests"
    OFFERS = "offers"
    OUTCOMES = "outcomes"
    VALIDATIONS = "validations"
    SETPOINTS = "setpoints"
    READINGS = "readings"
    SETTLEMENTS = "settlements"
    PACKETS = "packets"
    ANCHORS = "anchors"
    DEAD_LETTERS = "deadletters"


# Topics of records that are not events: light nodes' signed packets in their own wire
# format (Platone flow 7), standing in for the access layer's MQTT broker. The blockchain
# access layer turns each one into an event (certified or rejected) that carries the
# packet's hash and signature, so the events, not the packets, are projected and anchored.
INGEST_TOPICS: tuple[Topic, ...] = (Topic.PACKETS,)

# Every topic whose records are hashed onto the chain. Not ``anchors``: its records mirror
# the chain's own logs (anchoring them would anchor forever), and not ``deadletters``:
# those are copies of records already anchored where they first arrived.
ANCHORED_TOPICS: tuple[Topic, ...] = tuple(
    t for t in Topic if t not in (Topic.ANCHORS, Topic.DEAD_LETTERS, *INGEST_TOPICS)
)

# Every topic of events the projector writes into the read models.
PROJECTED_TOPICS: tuple[Topic, ...] = tuple(
    t for t in Topic if t not in (Topic.DEAD_LETTERS, *INGEST_TOPICS)
)

# Never delete events (ARCHITECTURE.md: immutable); one broker needs min.insync.replicas=1.
TOPIC_CONFIG: dict[str, str] = {
    "cleanup.policy": "delete",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "min.insync.replicas": "1",
    "message.timestamp.type": "CreateTime",
}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


def topic_name(settings: Settings, topic: Topic | str) -> str:
    """The topic's name on the broker, with the deployment's prefix."""
    return f"{settings.topic_prefix}{topic}"


def catalog_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic the project creates, with explicit partitions and settings."""
    return [TopicSpec(topic_name(settings, topic), settings.topic_partitions, 1, TOPIC_CONFIG)
            for topic in Topic]


def ensure_topics(settings: Settings) -> list[str]:
    """Create the catalog topics that do not exist yet; returns the names created."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    with _admin(settings) as admin:
        existing = set(admin.list_topics())
        missing = [spec for spec in catalog_topics(settings) if spec.name not in existing]
        if missing:
            # Another process may create them between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(s.name, s.partitions, s.replication_factor,
                                              topic_configs=s.config) for s in missing])
        return [spec.name for spec in missing]


def delete_prefixed_topics(settings: Settings) -> list[str]:
    """Delete every topic whose name starts with the settings' (non-empty) prefix: the
    catalog's and the per-participant ``results.`` ones. For throw-away deployments
    (test runs, demo runs): their partitions otherwise stay on the broker for good.

    Raises:
        ValueError: the prefix is empty (that would be the whole deployment's log).
    """
    if not settings.topic_prefix:
        raise ValueError("refusing to delete the topics of an unprefixed deployment")
    with _admin(settings) as admin:
        doomed = sorted(t for t in admin.list_topics() if t.startswith(settings.topic_prefix))
        if doomed:
            admin.delete_topics(doomed)
        return doomed


@contextlib.contextmanager
def _admin(settings: Settings) -> Iterator[Any]:
    """A Kafka admin client on the settings' broker, closed afterwards."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                             client_id=f"{settings.app_id}-admin")
    try:
        yield admin
    finally:
        admin.close()
