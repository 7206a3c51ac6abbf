"""Ledger throughput: events produced → projected into PostgreSQL, end to end, against plain
Kafka produce+consume of the same records on the same broker in the same run.

Run by ``make bench``; prints a readable summary and, as its last line, one JSON object.
Rome's 1.6 million PoDs at one 15-minute reading each need about 1,800 events/s.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import create_engine, text

from bench._common import bench_settings, pod_registrations
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.worker_process import WorkerProcess

ROME_EVENTS_PER_S = 1_600_000 / (15 * 60)


def _projected(engine, run: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pods WHERE pod_id LIKE :p"),
                            {"p": f"{run}-%"}).scalar_one()


def end_to_end(settings: Settings, n: int) -> dict[str, float]:
    url = settings.read_model_url
    upgrade(url)
    engine = create_engine(url)
    run = uuid.uuid4().hex[:8]
    warmup, events = pod_registrations(1, f"{run}w"), pod_registrations(n, run)
    with WorkerProcess(settings, settings.var_dir / "log" / "bench-worker.log") as worker, \
            EventProducer(settings) as producer:
        producer.publish_all(warmup)  # the clock starts once the worker has joined its group
        worker.wait_until(lambda: _projected(engine, f"{run}w") == 1, what="warm-up",
                          timeout_s=600, poll_s=0.05)
        start = time.perf_counter()
        producer.publish_all(events)
        produced_s = time.perf_counter() - start
        worker.wait_until(lambda: _projected(engine, run) >= n, what=f"{n} events",
                          timeout_s=600, poll_s=0.05, report_every_s=5)
        total_s = time.perf_counter() - start
    return {"events_per_s": n / total_s, "produce_s": produced_s, "end_to_end_s": total_s}


def kafka_raw(settings: Settings, records: list[tuple[bytes, bytes]]) -> float:
    """Plain kafka-python produce (acks=all) and consume of the same bytes, same broker."""
    topic = f"{settings.topic_prefix}bench-raw-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                             enable_idempotence=True, linger_ms=5, batch_size=512 * 1024)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", group_id=f"raw-{topic}")
    consumer.subscribe([topic])
    producer.send(topic, key=b"warm", value=b"up").get(timeout=30)
    consumer.poll(timeout_ms=5000)  # join the group before the clock starts
    start = time.perf_counter()
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    seen = 0
    while seen < len(records):
        for batch in consumer.poll(timeout_ms=1000, max_records=10_000).values():
            seen += len(batch)
    elapsed = time.perf_counter() - start
    producer.close()
    consumer.close()
    return len(records) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    settings = bench_settings()

    print(f"ledger throughput: {args.events:,} PodRegistered events, "
          f"{settings.topic_partitions} partitions, read models on "
          f"{create_engine(settings.read_model_url).dialect.name}")
    e2e = end_to_end(settings, args.events)
    sample = pod_registrations(args.events, "raw")
    raw = kafka_raw(settings, [(e.key.encode(), e.to_bytes()) for e in sample])
    result = {
        "events": args.events,
        "events_per_s": round(e2e["events_per_s"], 1),
        "kafka_raw_events_per_s": round(raw, 1),
        "ratio": round(e2e["events_per_s"] / raw, 3),
        "produce_s": round(e2e["produce_s"], 2),
        "end_to_end_s": round(e2e["end_to_end_s"], 2),
        "rome_events_per_s": round(ROME_EVENTS_PER_S),
        "target_events_per_s": 5000,
    }
    print(f"  end to end (produce → PostgreSQL): {result['events_per_s']:>10,.0f} events/s")
    print(f"  plain Kafka produce+consume:       {result['kafka_raw_events_per_s']:>10,.0f} "
          f"events/s  (ratio {result['ratio']:.3f})")
    print(f"  Rome at one reading per PoD per 15 min needs ≈ {ROME_EVENTS_PER_S:,.0f} events/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
