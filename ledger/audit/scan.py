"""The audit scan: the Kafka log and the read models, re-hashed against the anchored roots.

What the chain anchored is the reference. A batch whose records no longer hash to its root
was altered on Kafka; a record in an anchored batch that reuses another event's id with
other content is a forgery that was let into the log; an ``events`` row that differs from
its anchored record, or has none, was altered or forged in SQL; a derived row (a PoD …)
that differs from a replay of the log into a scratch database was altered in SQL.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, select
from tqdm import tqdm

from ledger.anchoring import AnchoredBatch, Stream, record_leaf
from ledger.chain import AnchorLedger
from ledger.kafka_log import end_offsets, read_partitions
from ledger.merkle import merkle_root
from ledger.projection import DeadLetter, Record, project
from ledger.settings import Settings
from ledger.store.digest import NOT_PROJECTED, normalise
from ledger.store.migrate import upgrade
from ledger.store.models import AnchorBatchRow, Base, EventRow, ProjectorOffset
from ledger.store.queries import event_of_row, utc
from ledger.store.writer import ReadModelWriter, make_async_engine
from ledger.topics import ANCHORED_TOPICS, Topic, topic_name

Kind = Literal["altered", "forged", "gap", "deleted", "unanchored", "unprojected", "repeated"]
TAMPERING: frozenset[str] = frozenset({"altered", "forged", "gap", "deleted"})
# Tables checked otherwise: events row by row, anchor batches against the chain; the
# projector's own bookkeeping and what is written beside the log (credentials, the API's
# idempotency keys) not at all.
NOT_REPLAYED = {EventRow.__tablename__, AnchorBatchRow.__tablename__,
                ProjectorOffset.__tablename__, *NOT_PROJECTED}


@dataclass(frozen=True)
class Finding:
    """One thing the scan found, and where."""

    kind: Kind
    source: Literal["kafka", "sql", "chain"]
    detail: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    event_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        if self.topic is None:
            return "-"
        return f"{self.topic}/{self.partition}@{self.offset}"


@dataclass
class ScanReport:
    """Everything found, and how much was looked at."""

    records: int = 0
    anchored_records: int = 0
    batches: int = 0
    sql_events: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def tampered(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in TAMPERING]

    def render(self) -> str:
        lines = [f"checked {self.records} records on Kafka ({self.anchored_records} anchored, "
                 f"in {self.batches} batches) and {self.sql_events} events rows"]
        for f in self.findings:
            if f.kind != "unanchored":
                lines.append(f"{f.kind:<11} {f.source:<5} {f.where():<36} "
                             f"{f.event_id or '-':<36}  {f.detail}")
        waiting: dict[str, list[int]] = defaultdict(list)
        for f in self.findings:
            if f.kind == "unanchored":
                waiting[f"{f.topic}/{f.partition}"].append(f.offset or 0)
        for stream, offsets in sorted(waiting.items()):
            lines.append(f"unanchored  kafka {stream}: {len(offsets)} record(s), offsets "
                         f"{min(offsets)}..{max(offsets)}")
        lines.append(f"RESULT: {len(self.tampered)} altered or forged, "
                     f"{sum(len(v) for v in waiting.values())} not yet anchored")
        return "\n".join(lines)


@dataclass
class SqlSnapshot:
    """The read models as one transaction saw them: events, bookkeeping, derived rows."""

    events: list[Any]
    projected: dict[tuple[str, int], int]  # the projector's last offset per partition
    anchor_rows: list[Any]
    derived: dict[str, dict[tuple[Any, ...], dict[str, Any]]]  # table → key → row


def read_snapshot(engine: Engine) -> SqlSnapshot:
    """Every table the scan checks, read in one repeatable-read transaction."""
    # PostgreSQL's default isolation would let each SELECT see newer rows. (pysqlite runs
    # SELECTs outside a transaction, so on SQLite the scan wants a quiet system.)
    options = ({"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql"
               else {})
    with engine.connect().execution_options(**options) as conn, conn.begin():
        return SqlSnapshot(
            events=list(conn.execute(select(EventRow)).all()),
            projected={(r.topic, r.partition): r.offset
                       for r in conn.execute(select(ProjectorOffset)).all()},
            anchor_rows=list(conn.execute(select(AnchorBatchRow)).all()),
            derived={table.name: _keyed_rows(conn, table) for table in _derived_tables()},
        )


def scan(settings: Settings, *, progress: bool = False) -> ScanReport:
    """Scan the configured Kafka log and read models against the configured chain.

    The read models are read first, then the chain, then the log: whatever arrives in
    between shows up as not yet projected or not yet anchored, never as tampering.

    Raises:
        ledger.chain.ChainError: the chain cannot be read.
    """
    engine = create_engine(settings.read_model_url)
    try:
        snapshot = read_snapshot(engine)
    finally:
        engine.dispose()
    ledger = AnchorLedger.open(settings)
    names = {topic_name(settings, t) for t in ANCHORED_TOPICS}
    # One EventAnchor may serve several deployments (benchmarks, tests): only ours count.
    batches = [a for a in ledger.anchored() if a.batch.stream.topic in names]
    ends = end_offsets(settings, sorted(names))
    bar = tqdm(total=sum(ends.values()), desc="reading the log", unit="rec",
               disable=not progress, leave=False)
    records: dict[Stream, list[Record]] = defaultdict(list)
    for record in read_partitions(settings, {k: (0, end) for k, end in ends.items()}):
        records[Stream(record.topic, record.partition)].append(record)
        bar.update()
    bar.close()
    report = examine(records, batches, snapshot, anchored_topics=names,
                     anchors_topic=topic_name(settings, Topic.ANCHORS))
    report.findings += compare_derived_tables(records, snapshot)
    return report


def examine(records: dict[Stream, list[Record]], batches: Sequence[AnchoredBatch],
            snapshot: SqlSnapshot, *, anchored_topics: set[str],
            anchors_topic: str) -> ScanReport:
    """The log against the chain, and the ``events`` and ``anchor_batches`` rows against both."""
    report = ScanReport(records=sum(len(r) for r in records.values()), batches=len(batches))
    by_stream: dict[Stream, list[AnchoredBatch]] = defaultdict(list)
    for anchored in batches:
        by_stream[anchored.batch.stream].append(anchored)
    for stream in set(records) | set(by_stream):
        report.findings += _check_stream(stream, records.get(stream, []),
                                         sorted(by_stream[stream],
                                                key=lambda a: a.batch.first_offset), report)
    rows = snapshot.events
    report.sql_events = len(rows)
    report.findings += _check_event_rows(
        records, [r for r in rows if r.topic in anchored_topics], snapshot.projected)
    report.findings += [Finding("forged", "sql", f"events row on {r.topic}, a topic that is "
                                "neither anchored nor the anchors topic", r.topic, r.partition,
                                r.offset, event_id=r.event_id)
                        for r in rows if r.topic not in anchored_topics | {anchors_topic}]
    report.findings += _check_anchor_rows(batches, snapshot.anchor_rows,
                                          [r for r in rows if r.topic == anchors_topic])
    return report


def _check_stream(stream: Stream, records: list[Record], batches: list[AnchoredBatch],
                  report: ScanReport) -> list[Finding]:
    findings: list[Finding] = []
    expected, i = 0, 0
    for anchored in batches:
        batch = anchored.batch
        if batch.first_offset != expected:
            findings.append(Finding("gap", "chain", f"offsets {expected}..{batch.first_offset - 1}"
                                    " are in no anchored batch", stream.topic, stream.partition,
                                    expected))
        inside = []
        while i < len(records) and records[i].offset <= batch.last_offset:
            if records[i].offset >= batch.first_offset:
                inside.append(records[i])
            i += 1
        report.anchored_records += len(inside)
        leaves = [record_leaf(r.offset, r.value or b"") for r in inside]
        if len(inside) != batch.count or merkle_root(leaves) != batch.root:
            findings.append(Finding(
                "altered", "kafka", f"records {batch.first_offset}..{batch.last_offset} no "
                f"longer hash to the root anchored in {anchored.tx_hash} ({len(inside)} "
                f"records, {batch.count} anchored)", stream.topic, stream.partition,
                batch.first_offset))
        expected = batch.last_offset + 1
    findings += [Finding("unanchored", "kafka", "not in an anchored batch yet", r.topic,
                         r.partition, r.offset) for r in records[i:]]
    return findings


def _check_event_rows(records: dict[Stream, list[Record]], rows: Sequence[Any],
                      projected: dict[tuple[str, int], int]) -> list[Finding]:
    findings: list[Finding] = []
    at: dict[tuple[str, int, int], Record] = {(r.topic, r.partition, r.offset): r
                                              for recs in records.values() for r in recs}
    row_at = {(r.topic, r.partition, r.offset): r for r in rows}
    row_ids = {r.event_id: (r.topic, r.partition, r.offset) for r in rows}
    for row in rows:
        position = (row.topic, row.partition, row.offset)
        record = at.get(position)
        if record is None:
            findings.append(Finding("forged", "sql", "events row with no record at its position",
                                    *position, event_id=row.event_id))
        elif event_of_row(row).to_bytes() != record.value:
            findings.append(Finding("altered", "sql", "events row differs from its record "
                                    "on Kafka", *position, event_id=row.event_id))
    first_seen: dict[str, tuple[str, int, int]] = {}
    for position, record in sorted(at.items()):
        outcome = project(record)
        if isinstance(outcome, DeadLetter):
            continue  # anchored as it arrived, never projected
        event_id = str(outcome.event.event_id)
        accepted = row_ids.get(event_id) or first_seen.setdefault(event_id, position)
        if accepted != position:
            same = at[accepted].value == record.value if accepted in at else False
            findings.append(Finding(
                "repeated" if same else "forged", "kafka",
                f"{'repeats' if same else 'reuses the id of'} the event at "
                f"{accepted[0]}/{accepted[1]}@{accepted[2]}" + ("" if same else
                                                                " with other content"),
                *position, event_id=event_id))
        elif position not in row_at:
            behind = position[2] > projected.get(position[:2], -1)
            findings.append(Finding("unprojected" if behind else "deleted", "sql",
                                    "not projected yet" if behind else
                                    "events row is missing though its record was projected",
                                    *position, event_id=event_id))
    return findings


def _check_anchor_rows(batches: Sequence[AnchoredBatch], rows: Sequence[Any],
                       announcements: Sequence[Any] = ()) -> list[Finding]:
    """``anchor_batches`` rows and ``BatchAnchored`` events rows against the chain's logs."""
    on_chain = {(a.batch.stream.topic, a.batch.stream.partition, a.batch.first_offset):
                (a.batch.last_offset, a.batch.count, "0x" + a.batch.root.hex(), a.tx_hash,
                 a.block_number) for a in batches}
    times = {(a.batch.stream.topic, a.batch.stream.partition, a.batch.first_offset):
             datetime.fromtimestamp(a.block_timestamp, UTC) for a in batches}
    findings = [Finding("altered", "sql", "anchor_batches row differs from the chain's batch",
                        r.topic, r.partition, r.first_offset, event_id=r.event_id)
                for r in rows
                if on_chain.get((r.topic, r.partition, r.first_offset))
                != (r.last_offset, r.count, r.root, r.tx_hash, r.block_number)
                or times.get((r.topic, r.partition, r.first_offset)) != utc(r.anchored_at)]
    for row in announcements:
        p = row.payload
        if on_chain.get((p.get("topic"), p.get("partition"), p.get("first_offset"))) != (
                p.get("last_offset"), p.get("count"), p.get("root"), p.get("tx_hash"),
                p.get("block_number")):
            findings.append(Finding("altered", "sql", "BatchAnchored event differs from the "
                                    "chain's batch", row.topic, row.partition, row.offset,
                                    event_id=row.event_id))
    return findings


def compare_derived_tables(records: dict[Stream, list[Record]],
                           snapshot: SqlSnapshot) -> list[Finding]:
    """Replay the log, up to where the projector was, into a scratch database and diff
    every derived table with the snapshot."""
    upto = [r for recs in records.values() for r in recs
            if r.offset <= snapshot.projected.get((r.topic, r.partition), -1)]
    with tempfile.TemporaryDirectory(prefix="flexmarket-scan-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'replay.db'}"
        upgrade(url)
        asyncio.run(_replay(url, upto))
        replay = create_engine(url)
        try:
            with replay.connect() as conn:
                expected = {t.name: _keyed_rows(conn, t) for t in _derived_tables()}
        finally:
            replay.dispose()
    return [f for table in _derived_tables()
            for f in _diff_table(table, expected[table.name], snapshot.derived[table.name])]


def _derived_tables() -> list[Any]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_REPLAYED]


def _keyed_rows(conn: Any, table: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    return {tuple(normalise(row[k]) for k in keys): {k: normalise(v) for k, v in row.items()}
            for row in conn.execute(select(table)).mappings()}


async def _replay(url: str, records: Iterable[Record], chunk: int = 5000) -> None:
    engine = make_async_engine(url)
    writer = ReadModelWriter(engine)
    items = []
    try:
        for record in records:
            items.append(project(record))
            if len(items) >= chunk:
                await writer.write(items)
                items = []
        if items:
            await writer.write(items)
    finally:
        await engine.dispose()


def _diff_table(table: Any, expected: dict[tuple[Any, ...], dict[str, Any]],
                actual: dict[tuple[Any, ...], dict[str, Any]]) -> list[Finding]:
    key_columns = [c.name for c in table.primary_key.columns]
    findings = []
    for key in sorted(set(expected) | set(actual), key=repr):
        want, have = expected.get(key), actual.get(key)
        if want == have:
            continue
        named = ", ".join(f"{c}={v}" for c, v in zip(key_columns, key, strict=True))
        if want is None:
            detail = f"{table.name} row {named} is not in the replay of the log"
        elif have is None:
            detail = f"{table.name} row {named} is missing"
        else:
            changed = [f"{c}: {want[c]!r} in the log, {have[c]!r} in SQL"
                       for c in want if want[c] != have.get(c)]
            detail = f"{table.name} row {named} differs: " + "; ".join(changed)
        source_row = have or want or {}
        findings.append(Finding("altered", "sql", detail,
                                event_id=source_row.get("last_event_id")))
    return findings
