"""Read-model rules of the shared customer database's events: which rows each one writes."""

from __future__ import annotations

from access_layer.domain.events import (
    LightNodeEnrolled,
    MeteringDayClosed,
    MeterReadingCertified,
    MeterReadingMissing,
    MeterReadingRejected,
    SetpointAcknowledged,
)
from aggregator.domain.events import SetpointIssued
from dso.domain.events import SetpointRelayed
from ledger.envelope import Event
from ledger.projection import RowChange, rule


@rule("MeterReadingCertified")
def _reading_certified(event: Event, p: MeterReadingCertified) -> list[RowChange]:
    return [RowChange("meter_readings", "upsert", {
        "pod_id": p.pod_id, "interval_start": p.interval_start, "p_kw": p.p_kw,
        "q_kvar": p.q_kvar, "energy_kwh": p.energy_kwh, "node_address": p.node_address,
        "event_id": str(event.event_id)}, ("pod_id", "interval_start"))]


@rule("LightNodeEnrolled")
def _light_node_enrolled(event: Event, p: LightNodeEnrolled) -> list[RowChange]:
    return [RowChange("light_nodes", "upsert", {
        "pod_id": p.pod_id, "aggregator_id": p.aggregator_id, "node_address": p.node_address,
        "enrolled_at": event.occurred_at, "event_id": str(event.event_id)}, ("pod_id",))]


@rule("MeterReadingRejected")
def _reading_rejected(event: Event, p: MeterReadingRejected) -> list[RowChange]:
    return [RowChange("rejected_packets", "upsert", {
        "event_id": str(event.event_id), **p.model_dump(), "rejected_at": event.occurred_at},
        ("event_id",))]


@rule("MeterReadingMissing")
def _reading_missing(event: Event, p: MeterReadingMissing) -> list[RowChange]:
    return [RowChange("missing_readings", "upsert", {
        **p.model_dump(), "event_id": str(event.event_id)}, ("pod_id", "interval_start"))]


@rule("SetpointIssued")
def _setpoint_issued(event: Event, p: SetpointIssued) -> list[RowChange]:
    return [RowChange("setpoints", "upsert", {
        "activation_id": p.activation_id, "pod_id": p.pod_id, "aggregator_id": p.aggregator_id,
        "session_id": p.session_id, "slots": [s.model_dump() for s in p.slots],
        "issued_at": event.occurred_at, "relayed_at": None, "sent_by_dso_at": None,
        "received_by_node_at": None, "received_by_device_at": None,
        "event_id": str(event.event_id)}, ("activation_id",))]


@rule("SetpointRelayed")
def _setpoint_relayed(event: Event, p: SetpointRelayed) -> list[RowChange]:
    return [RowChange("setpoints", "update", {"activation_id": p.activation_id,
                                              "relayed_at": event.occurred_at},
                      ("activation_id",))]


@rule("SetpointAcknowledged")
def _setpoint_acknowledged(event: Event, p: SetpointAcknowledged) -> list[RowChange]:
    return [RowChange("setpoints", "update", {
        "activation_id": p.activation_id, "sent_by_dso_at": p.sent_by_dso_at,
        "received_by_node_at": p.received_by_node_at,
        "received_by_device_at": p.received_by_device_at}, ("activation_id",))]


@rule("MeteringDayClosed")
def _metering_day_closed(event: Event, p: MeteringDayClosed) -> list[RowChange]:
    return [RowChange("metering_days", "upsert", {
        **p.model_dump(), "closed_at": event.occurred_at, "event_id": str(event.event_id)},
        ("delivery_day",))]
