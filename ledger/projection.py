"""From Kafka records to read-model changes: pure rules, no database.

A record becomes either a projected event with the row changes it implies, or a dead
letter with the reason. Read-model rules are keyed by event type; a type without a rule
is still projected into ``events``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aggregator.domain.events import PodRegistered, PodUnregistered, PodUpdated
from ledger.catalog import typed_payload
from ledger.envelope import Event, parse_event
from ledger.errors import InvalidEvent
from ledger.events import BatchAnchored

MAX_RAW_BYTES = 100_000


@dataclass(frozen=True)
class Record:
    """A Kafka record as the projector received it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class RowChange:
    """Insert-or-replace (``upsert``) or ``update`` one row of a read-model table."""

    table: str
    op: Literal["upsert", "update"]
    values: dict[str, Any]
    key: tuple[str, ...]


@dataclass(frozen=True)
class Projected:
    record: Record
    event: Event
    changes: list[RowChange] = field(default_factory=list)

    def event_row(self) -> dict[str, Any]:
        e = self.event
        return {"event_id": str(e.event_id), "type": e.type, "version": e.version,
                "occurred_at": e.occurred_at, "actor": e.actor, "key": e.key,
                "payload": e.payload, "hash": e.hash, "topic": self.record.topic,
                "partition": self.record.partition, "offset": self.record.offset}


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    code: str
    reason: str

    def row(self) -> dict[str, Any]:
        # Text columns cannot hold NUL on PostgreSQL; a reason quoting input might.
        reason = self.reason.replace("\x00", "\\x00")[:2000]
        return {"topic": self.record.topic, "partition": self.record.partition,
                "offset": self.record.offset, "code": self.code, "reason": reason,
                "raw": (self.record.value or b"")[:MAX_RAW_BYTES]}


# A rule receives the event and its payload already validated against the catalog model.
Rule = Callable[[Event, Any], list[RowChange]]
_RULES: dict[str, Rule] = {}


def rule(event_type: str) -> Callable[[Rule], Rule]:
    """Declare the read-model changes an event type implies."""

    def register(fn: Rule) -> Rule:
        _RULES[event_type] = fn
        return fn

    return register


def project(record: Record) -> Projected | DeadLetter:
    """Decode, check and translate one record; never raises for bad input."""
    if record.value is None:
        return DeadLetter(record, "EVENT_EMPTY", "record has no value")
    try:
        event = parse_event(record.value)
        payload = typed_payload(event)
    except InvalidEvent as exc:
        return DeadLetter(record, exc.code, exc.message)
    if record.key is not None and record.key.decode("utf-8", errors="replace") != event.key:
        return DeadLetter(record, "RECORD_KEY_MISMATCH",
                          "the Kafka record key differs from the event's key")
    rule_fn = _RULES.get(event.type)
    return Projected(record, event, rule_fn(event, payload) if rule_fn else [])


def _pod_limits(payload: PodRegistered | PodUpdated) -> dict[str, Any]:
    return {**payload.max_flexibility.model_dump(), "flexibility_type": payload.flexibility_type}


@rule("PodRegistered")
def _pod_registered(event: Event, payload: PodRegistered) -> list[RowChange]:
    return [RowChange("pods", "upsert", {
        "pod_id": payload.pod_id, "aggregator_id": payload.aggregator_id,
        "customer_id": payload.customer_id, **payload.location.model_dump(),
        **_pod_limits(payload), "settlement_mechanism_id": payload.settlement_mechanism_id,
        # A registration (again) awaits the DSO's association with its PoM.
        "active": True, "pom_id": None, "registered_at": event.occurred_at,
        "last_event_id": str(event.event_id)}, ("pod_id",))]


@rule("PodUpdated")
def _pod_updated(event: Event, payload: PodUpdated) -> list[RowChange]:
    return [RowChange("pods", "update", {"pod_id": payload.pod_id, **_pod_limits(payload),
                                         "last_event_id": str(event.event_id)}, ("pod_id",))]


@rule("PodUnregistered")
def _pod_unregistered(event: Event, payload: PodUnregistered) -> list[RowChange]:
    return [RowChange("pods", "update", {"pod_id": payload.pod_id, "active": False,
                                         "last_event_id": str(event.event_id)}, ("pod_id",))]


@rule("BatchAnchored")
def _batch_anchored(event: Event, payload: BatchAnchored) -> list[RowChange]:
    return [RowChange("anchor_batches", "upsert", {
        **payload.model_dump(), "anchored_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("topic", "partition", "first_offset"))]


# The other parts declare their rules with ``rule`` in their own store packages.
from access_layer.store import projection as _access_layer_rules  # noqa: E402, F401
from aggregator.store import projection as _aggregator_rules  # noqa: E402, F401
from dso.store import projection as _dso_rules  # noqa: E402, F401
from market.store import projection as _market_rules  # noqa: E402, F401
