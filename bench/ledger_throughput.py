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

from aggregator.domain.events import GridLocation, MaxFlexibility, PodRegistered
from deploy.stack.kafka import Kafka
from deploy.stack.postgres import Postgres
from ledger.catalog import new_event
from ledger.envelope import Event
from ledger.producer import EventProducer
from ledger.settings import Settings, get_settings
from ledger.store.migrate import upgrade
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess

ROME_EVENTS_PER_S = 1_600_000 / (15 * 60)


def pod_registrations(n: int, run: str) -> list[Event]:
    """``n`` distinct PodRegistered events (PoD ids prefixed by ``run``)."""
    location = GridLocation(primary_substation="PS-1", mv_feeder="FDR-1",
                            secondary_substation="SS-1-1")
    limits = MaxFlexibility(up_p_kw=6.0, down_p_kw=3.0, up_q_kvar=0.0, down_q_kvar=0.0)
    return [new_event(PodRegistered(pod_id=f"{run}-{i:07d}", aggregator_id="AGG-1",
                                    customer_id=f"C-{i:07d}", location=location,
                                    max_flexibility=limits), actor="AGG-1") for i in range(n)]


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
        wait_while_alive(lambda: _projected(engine, f"{run}w") == 1, worker, "warm-up")
        start = time.perf_counter()
        producer.publish_all(events)
        produced_s = time.perf_counter() - start
        wait_while_alive(lambda: _projected(engine, run) >= n, worker, f"{n} events", progress=n)
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


def wait_while_alive(done, worker: WorkerProcess, what: str,  # type: ignore[no-untyped-def]
                     progress: int = 0, timeout_s: float = 600) -> None:
    """Poll ``done`` until true; stop if the worker dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    last_report = time.monotonic()
    while not done():
        if not worker.alive():
            raise SystemExit(f"worker died waiting for {what}; see {worker.log_file}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        if progress and time.monotonic() - last_report > 5:
            print(f"  … waiting for {what}", flush=True)
            last_report = time.monotonic()
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    base = get_settings()
    Kafka(base).start()
    Postgres(base).start()
    run = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={
        "database_url": base.database_url or base.postgres_url,
        "topic_prefix": f"bench{run}.", "app_id": f"bench-{run}"})
    ensure_topics(settings)

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
