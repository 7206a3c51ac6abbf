"""Read-model rules of the access layer's events: which rows each one writes."""

from __future__ import annotations

from access_layer.domain.events import MeterReadingCertified
from ledger.envelope import Event
from ledger.projection import RowChange, rule


@rule("MeterReadingCertified")
def _reading_certified(event: Event, p: MeterReadingCertified) -> list[RowChange]:
    return [RowChange("meter_readings", "upsert", {
        "pod_id": p.pod_id, "interval_start": p.interval_start, "p_kw": p.p_kw,
        "q_kvar": p.q_kvar, "energy_kwh": p.energy_kwh, "node_address": p.node_address,
        "event_id": str(event.event_id)}, ("pod_id", "interval_start"))]
