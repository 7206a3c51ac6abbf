"""Light nodes' packets onto the ``packets`` topic, where the blockchain access layer
reads them: the stand-in for the access layer's MQTT broker (Platone flow 7), keyed by
PoD so each PoD's packets stay in order."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.topics import Topic, ensure_topics, topic_name


def packet_pod(raw: bytes) -> bytes | None:
    """The PoD a packet claims, as its record key (None for bytes that are no packet)."""
    try:
        pod = json.loads(raw).get("pod")
    except (ValueError, AttributeError):
        return None
    return pod.encode() if isinstance(pod, str) else None


def send_packets(settings: Settings, packets: Iterable[bytes]) -> int:
    """Send encoded packets and wait until the broker has them all; returns how many."""
    ensure_topics(settings)
    name = topic_name(settings, Topic.PACKETS)
    with EventProducer(settings) as producer:
        futures = [producer.send_raw(name, packet_pod(raw), raw) for raw in packets]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    return len(futures)
