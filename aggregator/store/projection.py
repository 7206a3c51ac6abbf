"""Read-model rules of the aggregator's events: which rows each one writes."""

from __future__ import annotations

from aggregator.domain.events import BaselineUploaded, PodOfferTermsSet
from ledger.envelope import Event
from ledger.projection import RowChange, rule


@rule("BaselineUploaded")
def _baseline_uploaded(event: Event, p: BaselineUploaded) -> list[RowChange]:
    return [RowChange("baselines", "upsert", {
        "pod_id": p.pod_id, "delivery_day": p.delivery_day, "aggregator_id": p.aggregator_id,
        "method": p.method, "slots": [s.model_dump() for s in p.slots],
        "uploaded_at": event.occurred_at, "event_id": str(event.event_id)},
        ("pod_id", "delivery_day"))]


@rule("PodOfferTermsSet")
def _offer_terms_set(event: Event, p: PodOfferTermsSet) -> list[RowChange]:
    return [RowChange("offer_terms", "upsert", {
        "pod_id": p.pod_id, "aggregator_id": p.aggregator_id, "enabled": p.enabled,
        "availability": p.availability, "directions": list(p.directions),
        "quantity_types": list(p.quantity_types),
        "cost_curve": [s.model_dump() for s in p.cost_curve], "set_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("pod_id",))]
