"""Publishing events from synchronous code (API handlers, CLI, simulators) with kafka-python."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from ledger.catalog import topic_of, typed_payload
from ledger.envelope import Event
from ledger.settings import Settings
from ledger.topics import topic_name


class EventProducer:
    """An idempotent producer that waits for every in-sync replica (acks=all).

    Each event is checked against the catalog before it leaves, so a bad event fails
    here, at its source, rather than in a dead-letter topic.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.app_id}-producer",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
            bootstrap_timeout_ms=int(settings.kafka_timeout_seconds * 1000),
            max_block_ms=int(settings.kafka_timeout_seconds * 1000),
        )

    def publish(self, event: Event) -> FutureRecordMetadata:
        """Send one event to its catalog topic, keyed per the catalog.

        Raises:
            InvalidEvent: the payload breaks its model or the key is not the catalog's.
        """
        typed_payload(event)
        return self._producer.send(
            topic_name(self.settings, topic_of(event)),
            key=event.key.encode(),
            value=event.to_bytes(),
            headers=[("type", event.type.encode()), ("version", str(event.version).encode())],
        )

    def publish_all(self, events: Iterable[Event]) -> int:
        """Send events and wait until the broker has acknowledged all of them.

        It waits on its own records only, not with ``flush()``: the API's threads share
        one producer, and a flush would have each wait for every other's writes too.
        """
        futures = [self.publish(event) for event in events]
        for future in futures:
            future.get(timeout=self.settings.kafka_timeout_seconds)  # the broker's error
        return len(futures)

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> FutureRecordMetadata:
        """Send bytes as they are: for tools that must write what the catalog would refuse."""
        return self._producer.send(topic, key=key, value=value)

    def flush(self, timeout_s: float = 60.0) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
