"""The audit scan's pure checks: the Kafka log against the anchored roots (FR_MP_BC_1), and the
``events`` and ``anchor_batches`` rows against the log and the chain (FR_MP_BC_2).

Records, rows and batches are plain objects; roots are recomputed here from leaves written
out as keccak-256, independent of the code under test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.anchoring import AnchorBatch, AnchoredBatch, Stream
from ledger.audit import scan as audit
from ledger.canonical import keccak256
from ledger.envelope import Event
from ledger.merkle import merkle_root
from ledger.projection import DeadLetter, Record, project
from tests.builders import EVENT_ID, make_event, make_pod_registered

TOPIC = "registry"
STREAM = Stream(TOPIC, 0)
TX = "0x" + "ab" * 32
REPO = Path(__file__).resolve().parents[3]


def _event(i: int, **payload: Any) -> Event:
    """A sealed PoD registration with id number ``i``; ``payload`` overrides its fields."""
    return make_event(make_pod_registered(pod_id=f"POD-{i:06d}", **payload),
                      event_id=UUID(int=EVENT_ID.int + i))


def _record(offset: int, event: Event | None = None, *, partition: int = 0,
            value: bytes | None = None) -> Record:
    """The Kafka record at ``offset``: ``event``'s bytes (event number ``offset`` by default)."""
    event = event or _event(offset)
    return Record(TOPIC, partition, offset, event.key.encode(),
                  event.to_bytes() if value is None else value)


def _records(offsets: range, partition: int = 0) -> list[Record]:
    return [_record(o, partition=partition) for o in offsets]


def _leaf(record: Record) -> bytes:
    return keccak256(b"\x00" + record.offset.to_bytes(8, "big") + (record.value or b""))


def _anchored(records: list[Record], first: int, last: int, *,
              stream: Stream = STREAM) -> AnchoredBatch:
    """The batch the chain holds for ``first..last`` of ``records`` as they were anchored."""
    inside = [r for r in records if first <= r.offset <= last]
    return AnchoredBatch(AnchorBatch(stream, first, last, len(inside),
                                     merkle_root([_leaf(r) for r in inside])),
                         tx_hash=TX, block_number=7, block_timestamp=1_748_852_100)


def _row(record: Record, **overrides: Any) -> SimpleNamespace:
    """The ``events`` row the projector writes for ``record``, as SQLite gives it back
    (``occurred_at`` naive)."""
    event = project(record)
    assert not isinstance(event, DeadLetter), event
    e = event.event
    fields = {"event_id": str(e.event_id), "type": e.type, "version": e.version,
              "occurred_at": e.occurred_at.replace(tzinfo=None), "actor": e.actor,
              "key": e.key, "payload": e.payload, "hash": e.hash, "topic": record.topic,
              "partition": record.partition, "offset": record.offset}
    return SimpleNamespace(**{**fields, **overrides})


def _by_stream(*records: Record) -> dict[Stream, list[Record]]:
    grouped: dict[Stream, list[Record]] = {}
    for r in records:
        grouped.setdefault(Stream(r.topic, r.partition), []).append(r)
    return grouped


def _kinds(findings: list[audit.Finding]) -> list[tuple[str, str, str | None, int | None,
                                                          int | None]]:
    return [(f.kind, f.source, f.topic, f.partition, f.offset) for f in findings]


# _check_stream: the log against the chain ---------------------------------------------------


def test_fr_mp_bc_1_clean_log_has_no_findings() -> None:
    """Records that still hash to their anchored roots are counted as anchored, nothing more."""
    records = _records(range(7))
    batches = [_anchored(records, 0, 3), _anchored(records, 4, 6)]
    report = audit.ScanReport()
    assert audit._check_stream(STREAM, records, batches, report) == []
    assert report.anchored_records == 7


def test_fr_mp_bc_1_changed_record_alters_its_batch_only() -> None:
    """A record rewritten on Kafka breaks its own batch's root, and no other."""
    records = _records(range(7))
    batches = [_anchored(records, 0, 3), _anchored(records, 4, 6)]
    records[5] = _record(5, _event(5, customer_id="CUST-2"))

    findings = audit._check_stream(STREAM, records, batches, audit.ScanReport())

    assert _kinds(findings) == [("altered", "kafka", TOPIC, 0, 4)]
    assert "records 4..6 no longer hash to the root anchored in " + TX in findings[0].detail


def test_fr_mp_bc_1_changed_bytes_of_the_same_event_alter_the_batch() -> None:
    """Bytes are anchored, not meaning: even a re-encoding of the same event is detected."""
    records = _records(range(3))
    batches = [_anchored(records, 0, 2)]
    records[1] = replace(records[1], value=(records[1].value or b"") + b" ")
    assert _kinds(audit._check_stream(STREAM, records, batches, audit.ScanReport())) == [
        ("altered", "kafka", TOPIC, 0, 0)]


def test_fr_mp_bc_1_missing_record_alters_its_batch() -> None:
    """A record deleted from inside an anchored range is detected by the count and the root."""
    records = _records(range(4))
    batches = [_anchored(records, 0, 3)]
    del records[2]
    report = audit.ScanReport()

    findings = audit._check_stream(STREAM, records, batches, report)

    assert _kinds(findings) == [("altered", "kafka", TOPIC, 0, 0)]
    assert "(3 records, 4 anchored)" in findings[0].detail
    assert report.anchored_records == 3


def test_fr_mp_bc_1_batch_with_every_record_gone_is_altered() -> None:
    """A whole anchored range missing from Kafka is a finding, not a crash of the scan."""
    records = _records(range(4))
    batches = [_anchored(records, 0, 1), _anchored(records, 2, 3)]
    assert _kinds(audit._check_stream(STREAM, records[2:], batches, audit.ScanReport())) == [
        ("altered", "kafka", TOPIC, 0, 0)]


def test_records_after_the_last_batch_are_unanchored_each() -> None:
    """Records the anchorer has not reached yet are reported, one finding per record."""
    records = _records(range(6))
    findings = audit._check_stream(STREAM, records, [_anchored(records, 0, 2)], audit.ScanReport())
    assert _kinds(findings) == [("unanchored", "kafka", TOPIC, 0, o) for o in (3, 4, 5)]


def test_records_of_a_partition_without_batches_are_all_unanchored() -> None:
    records = _records(range(2))
    assert _kinds(audit._check_stream(STREAM, records, [], audit.ScanReport())) == [
        ("unanchored", "kafka", TOPIC, 0, 0), ("unanchored", "kafka", TOPIC, 0, 1)]


def test_fr_mp_bc_1_batches_with_a_gap_are_reported() -> None:
    """Anchored history must have no holes: offsets in no batch are a chain finding."""
    records = _records(range(8))
    batches = [_anchored(records, 0, 2), _anchored(records, 5, 7)]
    report = audit.ScanReport()

    findings = audit._check_stream(STREAM, records, batches, report)

    assert _kinds(findings) == [("gap", "chain", TOPIC, 0, 3)]
    assert findings[0].detail == "offsets 3..4 are in no anchored batch"
    assert report.anchored_records == 6


def test_fr_mp_bc_1_first_batch_not_at_zero_is_a_gap() -> None:
    records = _records(range(5))
    findings = audit._check_stream(STREAM, records, [_anchored(records, 2, 4)],
                                   audit.ScanReport())
    assert _kinds(findings) == [("gap", "chain", TOPIC, 0, 0)]


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=5),
       st.data())
def test_fr_mp_bc_1_any_changed_record_flags_exactly_its_batch(n: int, size: int,
                                                                data: st.DataObject) -> None:
    """Whatever the batching, one changed record gives one finding: its batch's."""
    records = [Record(TOPIC, 0, o, None, f"record {o}".encode()) for o in range(n)]
    batches = [_anchored(records, first, min(first + size, n) - 1)
               for first in range(0, n, size)]
    changed = data.draw(st.integers(min_value=0, max_value=n - 1))
    records[changed] = replace(records[changed], value=b"changed")

    findings = audit._check_stream(STREAM, records, batches, audit.ScanReport())

    assert _kinds(findings) == [("altered", "kafka", TOPIC, 0, changed - changed % size)]


# _check_event_rows: the events table against the log ----------------------------------------


def test_fr_mp_bc_2_rows_matching_their_records_have_no_findings() -> None:
    records = _records(range(3))
    rows = [_row(r) for r in records]
    assert audit._check_event_rows(_by_stream(*records), rows, {(TOPIC, 0): 2}) == []


def test_fr_mp_bc_2_rows_with_aware_times_match_too() -> None:
    """PostgreSQL gives times back aware, possibly in another zone: still the same event."""
    records = _records(range(2))
    rome = timezone(timedelta(hours=2))
    rows = [_row(r, occurred_at=_event(r.offset).occurred_at.astimezone(rome))
            for r in records]
    assert audit._check_event_rows(_by_stream(*records), rows, {(TOPIC, 0): 1}) == []


def test_fr_mp_bc_2_row_with_a_changed_payload_is_altered() -> None:
    """A row edited in SQL no longer matches its anchored record."""
    records = _records(range(3))
    rows = [_row(r) for r in records]
    rows[1].payload = {**rows[1].payload, "customer_id": "CUST-2"}

    findings = audit._check_event_rows(_by_stream(*records), rows, {(TOPIC, 0): 2})

    assert _kinds(findings) == [("altered", "sql", TOPIC, 0, 1)]
    assert findings[0].event_id == str(UUID(int=EVENT_ID.int + 1))


@pytest.mark.parametrize("column, value", [
    ("hash", "0x" + "00" * 32), ("actor", "AGG-2"), ("key", "POD-999999"), ("version", 2),
    ("occurred_at", datetime(2025, 6, 2, 8, 15, 1)),
])
def test_fr_mp_bc_2_row_with_any_changed_column_is_altered(column: str, value: Any) -> None:
    records = _records(range(1))
    row = _row(records[0], **{column: value})
    assert _kinds(audit._check_event_rows(_by_stream(*records), [row], {(TOPIC, 0): 0})) == [
        ("altered", "sql", TOPIC, 0, 0)]


def test_fr_mp_bc_2_row_without_a_record_is_forged() -> None:
    """A row inserted in SQL has no anchored record at the position it claims."""
    records = _records(range(2))
    forged = _row(_record(99, _event(99)))
    rows = [*(_row(r) for r in records), forged]

    findings = audit._check_event_rows(_by_stream(*records), rows, {(TOPIC, 0): 1})

    assert findings == [audit.Finding("forged", "sql", "events row with no record at its "
                                      "position", TOPIC, 0, 99, event_id=forged.event_id)]


def test_fr_mp_bc_2_record_reusing_an_id_with_other_content_is_forged() -> None:
    """A record let into the log under an existing event's id is a forgery on Kafka."""
    genuine = _event(0)
    impostor = make_event(make_pod_registered(pod_id="POD-000000", customer_id="EVIL"),
                          event_id=genuine.event_id)
    records = [_record(0, genuine), _record(1, impostor)]

    findings = audit._check_event_rows(_by_stream(*records), [_row(records[0])], {(TOPIC, 0): 1})

    assert _kinds(findings) == [("forged", "kafka", TOPIC, 0, 1)]
    assert findings[0].event_id == str(genuine.event_id)
    assert findings[0].detail == ("reuses the id of the event at registry/0@0 "
                                  "with other content")


def test_fr_mp_bc_2_forgery_points_at_the_position_sql_accepted() -> None:
    """The accepted event is the one the projector kept (the row's), even when the other
    record sorts first."""
    genuine = _event(0)
    impostor = make_event(make_pod_registered(pod_id="POD-000000", customer_id="EVIL"),
                          event_id=genuine.event_id)
    accepted = _record(0, genuine, partition=1)
    other = _record(5, impostor, partition=0)  # registry/0 sorts before registry/1

    findings = audit._check_event_rows(_by_stream(accepted, other), [_row(accepted)],
                                       {(TOPIC, 0): 5, (TOPIC, 1): 0})

    assert _kinds(findings) == [("forged", "kafka", TOPIC, 0, 5)]
    assert "registry/1@0" in findings[0].detail


def test_identical_repeat_is_repeated_not_forged() -> None:
    """A retried produce repeats the same bytes: not tampering, the projector kept one."""
    event = _event(0)
    records = [_record(0, event), _record(1, event)]

    findings = audit._check_event_rows(_by_stream(*records), [_row(records[0])], {(TOPIC, 0): 1})

    assert _kinds(findings) == [("repeated", "kafka", TOPIC, 0, 1)]
    assert findings[0].detail == "repeats the event at registry/0@0"


def test_fr_mp_bc_2_missing_row_is_deleted_or_unprojected_by_the_projector_offset() -> None:
    """Without a row, a record the projector already passed was deleted from SQL; one it has
    not reached yet is merely waiting."""
    records = _records(range(4))
    rows = [_row(records[0])]

    findings = audit._check_event_rows(_by_stream(*records), rows, {(TOPIC, 0): 2})

    assert _kinds(findings) == [("deleted", "sql", TOPIC, 0, 1), ("deleted", "sql", TOPIC, 0, 2),
                                ("unprojected", "sql", TOPIC, 0, 3)]
    assert findings[0].event_id == str(UUID(int=EVENT_ID.int + 1))


def test_missing_row_of_a_partition_never_projected_is_unprojected() -> None:
    records = _records(range(2), partition=3)
    findings = audit._check_event_rows(_by_stream(*records), [], {(TOPIC, 0): 10})
    assert [f.kind for f in findings] == ["unprojected", "unprojected"]


def test_dead_letters_with_invalid_bytes_are_ignored() -> None:
    """Records that are not valid envelopes were anchored as they came but never projected."""
    broken_hash = _event(2).to_bytes().replace(b"POD-000002", b"POD-000003")
    records = [_record(0, value=b"not json"), Record(TOPIC, 0, 1, None, None),
               _record(2, value=broken_hash), _record(3, value=b"")]
    assert audit._check_event_rows(_by_stream(*records), [], {(TOPIC, 0): 3}) == []


def test_scan_survives_a_deeply_nested_dead_letter() -> None:
    """Anyone who can produce to a topic can put ``[[[[…`` on the log; it is anchored as a dead
    letter and the scan must pass over it. Importing the scan imports web3, whose py_ecc and
    py-evm raise the recursion limit to 100 000, so a decoder that relies on that limit
    overflows the C stack instead. Run in a fresh interpreter, as ``flexmarket`` runs the
    scan, so that a crash shows as a failure here rather than killing the test session."""
    code = textwrap.dedent("""
        from ledger.anchoring import Stream
        from ledger.audit.scan import _check_event_rows
        from ledger.projection import Record

        record = Record("registry", 0, 0, None, b"[" * 100_000)
        print(_check_event_rows({Stream("registry", 0): [record]}, [], {("registry", 0): 0}))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr[-2000:]


def test_dead_letter_with_an_invalid_payload_is_not_a_deleted_row() -> None:
    """An envelope that parses but that the catalog rejects (here a payload missing required
    fields) is a dead letter too: the projector writes no ``events`` row for it, so its
    missing row is not tampering."""
    event = make_event({"pod_id": "POD-000001"})  # sealed as given; the catalog rejects it
    record = _record(0, event)
    assert isinstance(project(record), DeadLetter)  # what the projector does with it

    assert audit._check_event_rows(_by_stream(record), [], {(TOPIC, 0): 0}) == []


def test_dead_letter_with_a_mismatched_record_key_is_not_a_deleted_row() -> None:
    """A record whose Kafka key is not its event's key is dead-lettered by the projector, so
    no ``events`` row is expected for it either."""
    record = replace(_record(0), key=b"POD-999999")
    assert isinstance(project(record), DeadLetter)

    assert audit._check_event_rows(_by_stream(record), [], {(TOPIC, 0): 0}) == []


# _check_anchor_rows: the anchor_batches table against the chain -----------------------------


def _anchor_row(anchored: AnchoredBatch, **overrides: Any) -> SimpleNamespace:
    """The ``anchor_batches`` row projected from the batch's ``BatchAnchored`` event."""
    b = anchored.batch
    fields = {"topic": b.stream.topic, "partition": b.stream.partition,
              "first_offset": b.first_offset, "last_offset": b.last_offset, "count": b.count,
              "root": "0x" + b.root.hex(), "chain_id": 31337,
              "contract": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
              "tx_hash": anchored.tx_hash, "block_number": anchored.block_number,
              "anchored_at": datetime.fromtimestamp(anchored.block_timestamp, UTC)
              .replace(tzinfo=None),
              "event_id": "01972fb5-4c1b-7000-8000-0000000000aa"}
    return SimpleNamespace(**{**fields, **overrides})


def _chain_batches() -> list[AnchoredBatch]:
    records = _records(range(6))
    return [_anchored(records, 0, 2), _anchored(records, 3, 5)]


def test_fr_mp_bc_2_anchor_rows_matching_the_chain_have_no_findings() -> None:
    batches = _chain_batches()
    assert audit._check_anchor_rows(batches, [_anchor_row(b) for b in batches]) == []


@pytest.mark.parametrize("column, value", [
    ("root", "0x" + "11" * 32), ("last_offset", 4), ("count", 2), ("tx_hash", "0x" + "cd" * 32),
])
def test_fr_mp_bc_2_anchor_row_differing_from_the_chain_is_altered(column: str,
                                                                    value: Any) -> None:
    """A batch row edited in SQL would send auditors to the wrong root or range."""
    batches = _chain_batches()
    rows = [_anchor_row(batches[0]), _anchor_row(batches[1], **{column: value})]

    findings = audit._check_anchor_rows(batches, rows)

    assert findings == [audit.Finding("altered", "sql", "anchor_batches row differs from the "
                                      "chain's batch", TOPIC, 0, 3, event_id=rows[1].event_id)]


def test_fr_mp_bc_2_anchor_row_of_no_chain_batch_is_altered() -> None:
    batches = _chain_batches()
    rows = [*(_anchor_row(b) for b in batches), _anchor_row(batches[1], first_offset=6,
                                                            last_offset=8)]
    assert _kinds(audit._check_anchor_rows(batches, rows)) == [("altered", "sql", TOPIC, 0, 6)]


@pytest.mark.parametrize("column, value", [
    ("block_number", 8),
    ("anchored_at", datetime(2026, 1, 1, 0, 0, 0)),
])
def test_fr_mp_bc_2_anchor_row_with_other_chain_coordinates_is_altered(column: str,
                                                                       value: Any) -> None:
    """The chain's batch also says in which block, and when, it was anchored; the API serves
    both from this row, and ``anchor_batches`` is left out of the replay diff, so a row edited
    there is only caught here."""
    batches = _chain_batches()
    rows = [_anchor_row(batches[0]), _anchor_row(batches[1], **{column: value})]
    assert _kinds(audit._check_anchor_rows(batches, rows)) == [("altered", "sql", TOPIC, 0, 3)]


# ScanReport ----------------------------------------------------------------------------------


def _report() -> audit.ScanReport:
    return audit.ScanReport(records=12, anchored_records=8, batches=3, sql_events=10, findings=[
        audit.Finding("altered", "kafka", "records 0..3 no longer hash", TOPIC, 0, 0),
        audit.Finding("forged", "sql", "events row with no record", TOPIC, 0, 99,
                      event_id="01972fb5-4c1b-7000-8000-000000000063"),
        audit.Finding("gap", "chain", "offsets 4..4 are in no anchored batch", TOPIC, 1, 4),
        audit.Finding("deleted", "sql", "events row is missing", TOPIC, 0, 5),
        audit.Finding("repeated", "kafka", "repeats the event at registry/0@0", TOPIC, 0, 6),
        audit.Finding("unprojected", "sql", "not projected yet", TOPIC, 0, 7),
        audit.Finding("unanchored", "kafka", "not in an anchored batch yet", TOPIC, 0, 10),
        audit.Finding("unanchored", "kafka", "not in an anchored batch yet", TOPIC, 0, 8),
        audit.Finding("unanchored", "kafka", "not in an anchored batch yet", TOPIC, 2, 0),
    ])


def test_tampered_are_only_the_tampering_kinds() -> None:
    """Lag (unanchored, unprojected) and retried produces (repeated) are not tampering."""
    assert [f.kind for f in _report().tampered] == ["altered", "forged", "gap", "deleted"]
    assert audit.ScanReport().tampered == []


def test_render_summarises_findings_and_ends_with_the_result() -> None:
    text = _report().render()
    lines = text.splitlines()
    assert lines[0] == ("checked 12 records on Kafka (8 anchored, in 3 batches) and "
                        "10 events rows")
    assert lines[-1] == "RESULT: 4 altered or forged, 3 not yet anchored"
    assert "unanchored  kafka registry/0: 2 record(s), offsets 8..10" in lines
    assert "unanchored  kafka registry/2: 1 record(s), offsets 0..0" in lines
    forged = next(line for line in lines if line.startswith("forged"))
    assert "registry/0@99" in forged
    assert "01972fb5-4c1b-7000-8000-000000000063" in forged
    assert sum(line.startswith("unanchored") for line in lines) == 2  # one line per stream


def test_render_of_a_clean_scan() -> None:
    assert audit.ScanReport(records=3, anchored_records=3, batches=1).render().splitlines() == [
        "checked 3 records on Kafka (3 anchored, in 1 batches) and 0 events rows",
        "RESULT: 0 altered or forged, 0 not yet anchored",
    ]
