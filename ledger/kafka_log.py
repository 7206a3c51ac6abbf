"""Reading the Kafka log directly, by position: for proofs and for the audit scan.

No consumer group: these reads assign partitions and seek, so they never move the
processors' committed offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition

from ledger.projection import Record
from ledger.settings import Settings

POLL_MS = 500
IDLE_POLLS = 20  # empty polls in a row before a read that should have data gives up


def _consumer(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                         enable_auto_commit=False, client_id=f"{settings.app_id}-audit",
                         max_partition_fetch_bytes=4 * 1024 * 1024)


def end_offsets(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    """The next offset to be written in each partition of ``topics``."""
    consumer = _consumer(settings)
    try:
        partitions = [TopicPartition(t, p) for t in topics
                      for p in sorted(consumer.partitions_for_topic(t) or ())]
        return {(tp.topic, tp.partition): int(o)
                for tp, o in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_range(settings: Settings, topic: str, partition: int, first: int,
               last: int) -> list[Record]:
    """The records at offsets ``first``..``last`` (inclusive) of one partition."""
    return list(read_partitions(settings, {(topic, partition): (first, last + 1)}))


def read_partitions(settings: Settings,
                    ranges: dict[tuple[str, int], tuple[int, int]]) -> Iterator[Record]:
    """Every record in ``[start, stop)`` of each given partition, in offset order per partition.

    Raises:
        TimeoutError: when a partition stops yielding before ``stop`` (the broker is gone,
            or the range is beyond the log's end).
    """
    wanted = {k: v for k, v in ranges.items() if v[1] > v[0]}
    if not wanted:
        return
    consumer = _consumer(settings)
    try:
        assignment = [TopicPartition(t, p) for t, p in wanted]
        consumer.assign(assignment)
        for tp in assignment:
            consumer.seek(tp, wanted[(tp.topic, tp.partition)][0])
        remaining = set(wanted)
        idle = 0
        while remaining:
            batch = consumer.poll(timeout_ms=POLL_MS)
            idle = 0 if batch else idle + 1
            if idle > IDLE_POLLS:
                raise TimeoutError(f"Kafka stopped yielding records of {sorted(remaining)}")
            for tp, messages in batch.items():
                key = (tp.topic, tp.partition)
                stop = wanted[key][1]
                for m in messages:
                    if m.offset >= stop:
                        break
                    yield Record(tp.topic, tp.partition, m.offset, m.key, m.value)
                if messages and messages[-1].offset >= stop - 1:
                    remaining.discard(key)
                    consumer.pause(tp)
    finally:
        consumer.close()


def committed_offsets(settings: Settings, group: str,
                      topics: list[str]) -> dict[tuple[str, int], int]:
    """The offsets consumer group ``group`` committed on ``topics`` (next to read)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                             client_id=f"{settings.app_id}-offsets")
    try:
        committed = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): int(meta.offset) for tp, meta in committed.items()
            if tp.topic in topics}
