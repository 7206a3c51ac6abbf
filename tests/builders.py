"""Builders of valid domain values and events: one place for defaults, overrides per test.

Every builder returns a valid value; a test overrides only the fields its rule is about
(STYLE.md "Tests"). Defaults are fixed, so events built here hash the same on every run.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from access_layer.domain.events import MeterReadingCertified
from aggregator.domain.events import (
    BaselineSlot,
    BaselineUploaded,
    GridLocation,
    MaxFlexibility,
    PodRegistered,
    PodUnregistered,
    PodUpdated,
)
from ledger.catalog import EventPayload
from ledger.envelope import Event, seal
from ledger.projection import Record
from market.domain.events import (
    FlexOfferSubmitted,
    FlexRequestSubmitted,
    ValidatedAward,
    ValidatedOutcomePublished,
)

# A UUIDv7 whose 48-bit time prefix is EVENT_AT in Unix milliseconds (0x01972fb54c1b).
EVENT_ID = UUID("01972fb5-4c1b-7000-8000-000000000001")
EVENT_AT = datetime(2025, 6, 2, 8, 15, 0, 123456, tzinfo=UTC)
POD_ID = "POD-000001"
AGGREGATOR_ID = "AGG-1"


def make_location(**overrides: Any) -> GridLocation:
    """A location on the DSO's default grid (CIGRE MV: bus 5 of its first feeder)."""
    fields: dict[str, Any] = {"primary_substation": "PS-1", "mv_feeder": "PS-1-F1",
                              "secondary_substation": "SS-5"}
    return GridLocation(**{**fields, **overrides})


def make_max_flexibility(**overrides: Any) -> MaxFlexibility:
    fields: dict[str, Any] = {"up_p_kw": 5.0, "down_p_kw": 3.0, "up_q_kvar": 2.0,
                              "down_q_kvar": 1.0}
    return MaxFlexibility(**{**fields, **overrides})


def make_pod_registered(**overrides: Any) -> PodRegistered:
    fields: dict[str, Any] = {"pod_id": POD_ID, "aggregator_id": AGGREGATOR_ID,
                              "customer_id": "CUST-1", "location": make_location(),
                              "max_flexibility": make_max_flexibility(),
                              "flexibility_type": "continuous",
                              "settlement_mechanism_id": None}
    return PodRegistered(**{**fields, **overrides})


def make_pod_updated(**overrides: Any) -> PodUpdated:
    fields: dict[str, Any] = {"pod_id": POD_ID, "aggregator_id": AGGREGATOR_ID,
                              "max_flexibility": make_max_flexibility(up_p_kw=7.5),
                              "flexibility_type": "discrete"}
    return PodUpdated(**{**fields, **overrides})


def make_pod_unregistered(**overrides: Any) -> PodUnregistered:
    fields: dict[str, Any] = {"pod_id": POD_ID, "aggregator_id": AGGREGATOR_ID,
                              "reason": "customer left the aggregator"}
    return PodUnregistered(**{**fields, **overrides})


def make_event(payload: EventPayload | dict[str, Any] | None = None, **overrides: Any) -> Event:
    """A sealed event with a fixed id and time; a ``PodRegistered`` of POD_ID by default.

    A typed ``payload`` sets ``type``, ``version`` and ``key`` from its catalog entry; a
    dict payload is sealed as given (for events the catalog should reject). Any argument
    of ``ledger.envelope.seal`` can be overridden.
    """
    payload = make_pod_registered() if payload is None else payload
    fields: dict[str, Any] = {"actor": AGGREGATOR_ID, "occurred_at": EVENT_AT,
                              "event_id": EVENT_ID}
    if isinstance(payload, EventPayload):
        fields |= {"type": payload.spec.type, "version": payload.spec.version,
                   "key": payload.partition_key(), "payload": payload.model_dump(mode="json")}
    else:
        fields |= {"type": "PodRegistered", "version": 1, "key": POD_ID, "payload": payload}
    return seal(**{**fields, **overrides})


def event_bytes(data: Any) -> bytes:
    """Plain ``json.dumps`` of an envelope dict: bytes as a foreign producer might send."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def make_record(value: bytes | None, **overrides: Any) -> Record:
    """A Kafka record of the registry topic carrying ``value``, keyed by POD_ID."""
    fields: dict[str, Any] = {"topic": "registry", "partition": 0, "offset": 42,
                              "key": POD_ID.encode()}
    return Record(**{**fields, **overrides, "value": value})


# The market: a delivery day with no clock change, and instants around its DA gate.
DELIVERY_DAY = date(2026, 6, 10)
DA_SESSION = "DA-2026-06-10"
DA_OPEN_AT = datetime(2026, 6, 9, 13, 0, tzinfo=UTC)  # 15:00 in Rome: the DA gate is open
DA_CLOSED_AT = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)  # 16:00 in Rome: gate closure
DSO_ID = "DSO-1"
TSO_ID = "TSO-1"


def make_offer_body(**overrides: Any) -> dict[str, Any]:
    """A valid offer as a client posts it: two price steps for POD_ID, up, active power."""
    fields: dict[str, Any] = {
        "aggregator_id": AGGREGATOR_ID, "pod_id": POD_ID, "market_type": "DA",
        "quantity_type": "P", "direction": "up", "divisible": True,
        "steps": [{"mtu": 70, "quantity": 2.0, "price_eur_per_mwh": 120.0},
                  {"mtu": 71, "quantity": 3.0, "price_eur_per_mwh": 150.0}]}
    return {**fields, **overrides}


def make_request_body(**overrides: Any) -> dict[str, Any]:
    """A valid DSO request as a client posts it: congestion at feeder PS-1-F1, served by POD_ID."""
    fields: dict[str, Any] = {
        "requester_id": DSO_ID, "role": "DSO", "market_type": "DA", "service": "congestion",
        "quantity_type": "P", "direction": "up",
        "location": {"kind": "mv_feeder", "id": "PS-1-F1"}, "eligible_pods": [POD_ID],
        "quantities": [{"mtu": 70, "quantity": 4.0}, {"mtu": 71, "quantity": 4.0}]}
    return {**fields, **overrides}


def make_offer_submitted(**overrides: Any) -> FlexOfferSubmitted:
    body = make_offer_body()
    del body["market_type"]
    fields: dict[str, Any] = {**body, "offer_id": "OFFER-1", "session_id": DA_SESSION,
                              "player_service_id": f"{AGGREGATOR_ID}::{POD_ID}::dayAhead::x"}
    return FlexOfferSubmitted(**{**fields, **overrides})


def make_request_submitted(**overrides: Any) -> FlexRequestSubmitted:
    body = make_request_body()
    del body["market_type"]
    fields: dict[str, Any] = {**body, "request_id": "REQUEST-1", "session_id": DA_SESSION,
                              "player_service_id": f"{DSO_ID}::PS-1-F1::dayAhead::x"}
    return FlexRequestSubmitted(**{**fields, **overrides})


def make_validated_award(**overrides: Any) -> ValidatedAward:
    """10 kW of POD-000001 accepted in full for DSO-1 in MTU 40 at 100 €/MWh (25 cents)."""
    fields: dict[str, Any] = {
        "award_id": "AWARD-1", "request_id": "REQUEST-1", "requester_id": "DSO-1",
        "offer_id": "OFFER-1", "aggregator_id": AGGREGATOR_ID, "pod_id": POD_ID, "mtu": 40,
        "quantity": 10.0, "bid_price_eur_per_mwh": 100.0, "price_eur_per_mwh": 100.0,
        "value_cents": 25, "awarded_quantity": 10.0, "status": "accepted"}
    return ValidatedAward(**{**fields, **overrides})


def make_validated_outcome(awards: tuple[ValidatedAward, ...] = (),
                           **overrides: Any) -> ValidatedOutcomePublished:
    fields: dict[str, Any] = {
        "outcome_id": "OUTCOME-1", "session_id": DA_SESSION, "market_type": "DA",
        "market_outcome_event_id": "MARKET-1", "validation_event_id": "VALIDATION-1",
        "awards": awards, "total_value_cents": sum(a.value_cents for a in awards)}
    return ValidatedOutcomePublished(**{**fields, **overrides})


def make_baseline(day: date, slots: int = 96, p_kw: float = 20.0,
                  **overrides: Any) -> BaselineUploaded:
    """A flat baseline of POD-000001 for ``day``: ``p_kw`` and a quarter of it in kVAr."""
    fields: dict[str, Any] = {
        "pod_id": POD_ID, "aggregator_id": AGGREGATOR_ID, "delivery_day": day,
        "method": "uploaded", "slots": tuple(BaselineSlot(mtu=m, p_kw=p_kw, q_kvar=p_kw / 4)
                                             for m in range(slots))}
    return BaselineUploaded(**{**fields, **overrides})


def make_reading(pod_id: str, start: datetime, p_kw: float) -> MeterReadingCertified:
    """A certified quarter-hour of ``pod_id`` at ``p_kw`` (and a tenth of it in kVAr)."""
    return MeterReadingCertified(
        pod_id=pod_id, interval_start=start, p_kw=p_kw, q_kvar=0.1 * p_kw,
        energy_kwh=p_kw / 4, node_address="0x" + "ab" * 20, packet_hash="0x" + "cd" * 32,
        signature="0x" + "ef" * 65)
