"""Anchoring cost and speed: gas per event by batch size on a real anvil, against one
transaction per event (the naive notarisation) in the same run; offline proof checks; and
how far anchoring trails the log under the ledger benchmark's load.

Run by ``make bench``; prints a readable summary and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid

from bench._common import bench_settings, pod_registrations
from contracts.deploy import contract, deploy_contracts
from ledger.anchoring import AnchorBatch, Stream, record_leaf
from ledger.audit.proof import BatchPublic, EventProof, Position, check_proof
from ledger.chain import AnchorLedger, connect, ensure_deployed
from ledger.merkle import inclusion_path, merkle_root
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.topics import ANCHORED_TOPICS, topic_name
from ledger.worker_process import WorkerProcess

BATCH_SIZES = (1, 100, 1_000, 10_000)
NAIVE_EVENTS = 50
TARGETS = {1_000: 60, 10_000: 6}  # gas per event the issue aims for


def _leaves(n: int) -> list[bytes]:
    return [record_leaf(i, os.urandom(400)) for i in range(n)]


def gas_by_batch_size(ledger: AnchorLedger) -> dict[str, float]:
    """Gas per event of one steady-state anchoring transaction per batch size.

    Each partition first gets a one-event batch, so the measured transaction pays for an
    existing cursor (as every batch but a partition's first does).
    """
    result: dict[str, float] = {}
    for partition, size in enumerate(BATCH_SIZES):
        stream = Stream("registry", partition)
        ledger.anchor([AnchorBatch(stream, 0, 0, 1, merkle_root(_leaves(1)))])
        (anchored,) = ledger.anchor([AnchorBatch(stream, 1, size, size,
                                                 merkle_root(_leaves(size)))])
        result[str(size)] = round((anchored.tx_gas_used or 0) / size, 2)
    return result


def naive_gas_per_event(ledger: AnchorLedger) -> float:
    """One transaction per event, each storing that event's hash (after a warm-up)."""
    stream = Stream("readings", 0)
    ledger.anchor([AnchorBatch(stream, 0, 0, 1, _leaves(1)[0])])
    used = [ledger.anchor([AnchorBatch(stream, i, i, 1, _leaves(1)[0])])[0].tx_gas_used or 0
            for i in range(1, NAIVE_EVENTS + 1)]
    return round(statistics.mean(used), 1)


def tick_gas_per_event(ledger: AnchorLedger, settings: Settings, events: int) -> float:
    """One ``anchorMany`` carrying every anchored partition's batch, as the processor sends
    on each tick, with ``events`` spread evenly (steady state: cursors exist)."""
    streams = [Stream(f"tick.{topic_name(settings, t)}", p) for t in ANCHORED_TOPICS
               for p in range(settings.topic_partitions)]
    ledger.anchor([AnchorBatch(s, 0, 0, 1, _leaves(1)[0]) for s in streams])
    per = events // len(streams)
    (first, *_) = ledger.anchor([AnchorBatch(s, 1, per, per, merkle_root(_leaves(per)))
                                 for s in streams])
    return round((first.tx_gas_used or 0) / (per * len(streams)), 3)


def proof_verify_ms(batch_size: int = 1_000, samples: int = 300) -> float:
    """Median time to check one proof offline (event hash, leaf, path), real events."""
    events = pod_registrations(batch_size, "proof")
    leaves = [record_leaf(i, e.to_bytes()) for i, e in enumerate(events)]
    root = "0x" + merkle_root(leaves).hex()
    batch = BatchPublic(topic="registry", partition=0, first_offset=0,
                        last_offset=batch_size - 1, count=batch_size, root=root, chain_id=1,
                        contract="0x" + "00" * 20, tx_hash="0x" + "00" * 32, block_number=1,
                        anchored_at="2026-11-22T00:00:00.000000Z")
    timings = []
    for i in range(0, batch_size, max(1, batch_size // samples)):
        proof = EventProof(event=events[i].to_json_dict(),
                           position=Position(topic="registry", partition=0, offset=i),
                           leaf="0x" + leaves[i].hex(), leaf_index=i,
                           path=["0x" + h.hex() for h in inclusion_path(leaves, i)],
                           batch=batch)
        start = time.perf_counter()
        check_proof(proof)
        timings.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(timings), 3)


def anchor_lag(settings: Settings, n: int) -> dict[str, float]:
    """Publish ``n`` events as fast as the ledger benchmark does, with the whole worker
    running; how long after the last one is produced is everything anchored."""
    upgrade(settings.read_model_url)
    ensure_deployed(settings)
    ledger = AnchorLedger.open(settings)
    streams = [Stream(topic_name(settings, t), p) for t in ANCHORED_TOPICS
               for p in range(settings.topic_partitions)]

    def anchored() -> int:
        return sum(ledger.next_offset(s) for s in streams)

    run = uuid.uuid4().hex[:8]
    warmup, events = pod_registrations(1, f"{run}w"), pod_registrations(n, run)
    with WorkerProcess(settings, settings.var_dir / "log" / "bench-anchor-worker.log") as worker, \
            EventProducer(settings) as producer:
        producer.publish_all(warmup)
        worker.wait_until(lambda: anchored() >= 1, what="warm-up anchored", timeout_s=600)
        start = time.perf_counter()
        producer.publish_all(events)
        produced = time.perf_counter()
        worker.wait_until(lambda: anchored() >= n + 1, what=f"{n} events anchored",
                          timeout_s=600, report_every_s=5)
        done = time.perf_counter()
    return {"anchor_lag_s": round(done - produced, 2),
            "anchored_events_per_s": round(n / (done - start), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="load for the lag run")
    args = parser.parse_args()
    settings = bench_settings(chain=True)

    w3 = connect(settings.chain_endpoint)
    # A deployment of its own, so earlier runs' cursors cannot change what is measured.
    scratch = deploy_contracts(w3, w3.eth.accounts[0])
    ledger = AnchorLedger(w3, scratch)
    print(f"anchoring on anvil ({settings.chain_endpoint}), EventAnchor "
          f"{contract(w3, 'EventAnchor', scratch.addresses['EventAnchor']).address}")
    by_size = gas_by_batch_size(ledger)
    naive = naive_gas_per_event(ledger)
    tick = tick_gas_per_event(ledger, settings, 10_000)
    verify_ms = proof_verify_ms()
    print("  gas per event, one batch per transaction: "
          + ", ".join(f"{k} → {v:,}" for k, v in by_size.items()))
    print(f"  naive, one transaction per event:          {naive:,} gas per event")
    print(f"  one tick, all {len(ANCHORED_TOPICS) * settings.topic_partitions} partitions, "
          f"10,000 events in one anchorMany: {tick} gas per event")
    for size, aim in TARGETS.items():
        got = by_size[str(size)]
        print(f"  batches of {size:,}: {got} gas/event, aim ≤ {aim} "
              f"({'met' if got <= aim else 'NOT met'}); {naive / got:,.0f}× cheaper than naive")
    print(f"  offline proof check (1,000-event batch): median {verify_ms} ms")
    print(f"  anchoring under load: {args.events:,} events …", flush=True)
    lag = anchor_lag(settings, args.events)
    print(f"  last event anchored {lag['anchor_lag_s']} s after it was produced; "
          f"{lag['anchored_events_per_s']:,.0f} events/s anchored end to end")
    result = {
        "gas_per_event": by_size,
        "naive_gas_per_event": naive,
        "ratio_naive_to_1000": round(naive / by_size["1000"], 1),
        "tick_gas_per_event_10000": tick,
        "proof_verify_ms": verify_ms,
        **lag,
        "events": args.events,
        "targets_gas_per_event": {str(k): v for k, v in TARGETS.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
