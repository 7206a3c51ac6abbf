"""Read-model rules of the market's events: which rows each one writes."""

from __future__ import annotations

from typing import Any

from dso.domain.events import TechnicalValidationCompleted
from ledger.envelope import Event
from ledger.projection import RowChange, rule
from market.domain.events import (
    FlexOfferSubmitted,
    FlexOfferWithdrawn,
    FlexRequestSubmitted,
    FlexRequestWithdrawn,
    MarketCleared,
    ValidatedOutcomePublished,
)


@rule("FlexRequestSubmitted")
def _request_submitted(event: Event, p: FlexRequestSubmitted) -> list[RowChange]:
    values = p.model_dump(mode="json", exclude={"location"})
    return [RowChange("flex_requests", "upsert", {
        **values, "location_kind": p.location.kind, "location_id": p.location.id,
        "withdrawn": False, "submitted_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("request_id",))]


@rule("FlexRequestWithdrawn")
def _request_withdrawn(event: Event, p: FlexRequestWithdrawn) -> list[RowChange]:
    return [RowChange("flex_requests", "update", {"request_id": p.request_id,
                                                  "withdrawn": True}, ("request_id",))]


@rule("FlexOfferSubmitted")
def _offer_submitted(event: Event, p: FlexOfferSubmitted) -> list[RowChange]:
    return [RowChange("flex_offers", "upsert", {
        **p.model_dump(mode="json"), "withdrawn": False, "submitted_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("offer_id",))]


@rule("FlexOfferWithdrawn")
def _offer_withdrawn(event: Event, p: FlexOfferWithdrawn) -> list[RowChange]:
    return [RowChange("flex_offers", "update", {"offer_id": p.offer_id, "withdrawn": True},
                      ("offer_id",))]


def _outcome(event: Event, stage: str, market_event_id: str) -> RowChange:
    return RowChange("outcomes", "upsert", {
        "event_id": str(event.event_id), "session_id": event.key, "stage": stage,
        "market_outcome_event_id": market_event_id, "published_at": event.occurred_at,
        "payload": event.payload}, ("event_id",))


def _award_rows(event: Event, stage: str, awards: Any) -> list[RowChange]:
    return [RowChange("awards", "upsert", {
        "event_id": str(event.event_id), "line": i, "session_id": event.key, "stage": stage,
        "request_id": a.request_id, "requester_id": a.requester_id, "offer_id": a.offer_id,
        "aggregator_id": a.aggregator_id, "pod_id": a.pod_id, "mtu": a.mtu,
        "quantity": a.quantity, "price_eur_per_mwh": a.price_eur_per_mwh,
        "value_cents": a.value_cents}, ("event_id", "line")) for i, a in enumerate(awards)]


@rule("MarketCleared")
def _market_cleared(event: Event, p: MarketCleared) -> list[RowChange]:
    return [_outcome(event, "market", str(event.event_id)),
            *_award_rows(event, "market", p.awards)]


@rule("TechnicalValidationCompleted")
def _validated_technically(event: Event, p: TechnicalValidationCompleted) -> list[RowChange]:
    return [_outcome(event, "technical", p.market_outcome_event_id)]


@rule("ValidatedOutcomePublished")
def _validated_outcome(event: Event, p: ValidatedOutcomePublished) -> list[RowChange]:
    return [_outcome(event, "validated", p.market_outcome_event_id),
            *_award_rows(event, "validated", p.awards)]
