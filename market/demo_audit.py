"""Stage 9 of ``make demo``: an independent audit of the day. The demo's Kafka log and read
models are re-hashed against the Merkle roots anchored on chain (``ledger.audit.scan``),
and the access layer's refusals are listed: the forged light node's packets must be the
day's only failures, and nothing may be altered or forged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import click
from sqlalchemy import Engine, select

from access_layer.store.models import RejectedPacketRow
from ledger.audit.scan import TAMPERING, scan
from ledger.kafka_log import end_offsets
from ledger.settings import Settings
from ledger.store.models import ProjectorOffset
from ledger.store.queries import find_batch
from ledger.topics import ANCHORED_TOPICS, PROJECTED_TOPICS, topic_name
from ledger.worker_process import WorkerProcess
from market.demo_delivery import DeliveryPlan
from market.demo_support import DemoDay, wait_or_fail

# The last events of the day (a settlement's, the clock-driven publications until the
# worker stopped) may wait for their batch: a worker with only these finishes the log.
TAIL_PROCESSORS = "projector,anchor"


def run_audit(day: DemoDay, plan: DeliveryPlan) -> dict[str, Any]:
    """Anchor what is left, scan the deployment, print and return what the scan found.

    Raises:
        click.ClickException: the scan found tampering, or packets other than the forged
            node's were refused.
    """
    click.secho("9. an independent audit: the demo's Kafka log and read models against the "
                "roots anchored on chain", bold=True)
    tail = day.settings.model_copy(update={"processors": TAIL_PROCESSORS})
    with WorkerProcess(tail, day.settings.var_dir / "log" / "demo-audit-worker.log") as worker:
        wait_or_fail(worker, lambda: all_anchored(tail, day.engine),
                     "every event projected and anchored", 180)
    report = scan(day.settings, progress=True)
    kinds = Counter(f.kind for f in report.findings)
    rejected = rejected_packets(day.engine)
    click.echo(f"   checked {report.records:,} records on Kafka ({report.anchored_records:,} in "
               f"{report.batches:,} anchored batches) and {report.sql_events:,} events rows, "
               "and replayed the log into a scratch database to compare every derived table")
    click.echo("   findings: " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                                  or "none"))
    click.echo(f"   RESULT: {len(report.tampered)} altered or forged (tampering), "
               f"{kinds['unanchored']} not yet anchored")
    for pod, seen in rejected.items():
        codes = ", ".join(f"{n} {c}" for c, n in sorted(seen["codes"].items()))
        what = "the forged light node" if pod == plan.forged else "NOT the forged node"
        click.echo(f"   refused at the access layer: {seen['packets']} packets of {pod}'s node "
                   f"{seen['node_address']} ({codes}) — {what}")
    if report.tampered:
        raise click.ClickException("the audit found tampering:\n" + report.render())
    if set(rejected) != ({plan.forged} if plan.forged else set()):
        raise click.ClickException(f"packets of {sorted(rejected)} were refused; only the "
                                   f"forged node's ({plan.forged}) should be")
    return {"records": report.records, "anchored_records": report.anchored_records,
            "batches": report.batches, "events_rows": report.sql_events,
            "findings": dict(sorted(kinds.items())), "tampering": len(report.tampered),
            "tampering_kinds": sorted(TAMPERING), "rejected_packets": rejected,
            "forged_pod": plan.forged}


def all_anchored(settings: Settings, engine: Engine) -> bool:
    """Whether every record now on the log is projected, and on an anchored topic in a
    batch anchored on chain (a partition's batches are anchored in order, so its last
    record's batch says it for the whole partition)."""
    anchored = {topic_name(settings, t) for t in ANCHORED_TOPICS}
    ends = end_offsets(settings, [topic_name(settings, t) for t in PROJECTED_TOPICS])
    with engine.connect() as conn:
        projected = {(r.topic, r.partition): r.offset
                     for r in conn.execute(select(ProjectorOffset))}
        for (topic, partition), end in ends.items():
            if end == 0:
                continue
            if projected.get((topic, partition), -1) < end - 1:
                return False
            if topic in anchored and find_batch(conn, topic, partition, end - 1) is None:
                return False
    return True


def rejected_packets(engine: Engine) -> dict[str, dict[str, Any]]:
    """The light-node packets the access layer refused (MeterReadingRejected), per PoD:
    how many, the node address they named, and why."""
    by_pod: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"packets": 0, "node_address": None, "codes": Counter()})
    with engine.connect() as conn:
        for row in conn.execute(select(RejectedPacketRow.pod_id, RejectedPacketRow.code,
                                       RejectedPacketRow.node_address)):
            seen = by_pod[row.pod_id]
            seen["packets"] += 1
            seen["node_address"] = seen["node_address"] or row.node_address
            seen["codes"][row.code] += 1
    return {pod: {**seen, "codes": dict(seen["codes"])} for pod, seen in sorted(by_pod.items())}
