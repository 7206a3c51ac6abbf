"""Read-model rules of the market's events: which rows each one writes."""

from __future__ import annotations

from typing import Any

from dso.domain.events import TechnicalValidationCompleted
from ledger.envelope import Event
from ledger.projection import RowChange, rule
from market.domain.events import (
    DeliveryDaySettled,
    FlexOfferSubmitted,
    FlexOfferWithdrawn,
    FlexRequestSubmitted,
    FlexRequestWithdrawn,
    MarketCleared,
    OperatorFunded,
    PodSettled,
    SettlementMechanismCreated,
    TokensTransferred,
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


@rule("SettlementMechanismCreated")
def _mechanism_created(event: Event, p: SettlementMechanismCreated) -> list[RowChange]:
    return [RowChange("settlement_mechanisms", "upsert", {
        **p.model_dump(), "created_at": event.occurred_at, "event_id": str(event.event_id)},
        ("mechanism_id",))]


@rule("OperatorFunded")
def _operator_funded(event: Event, p: OperatorFunded) -> list[RowChange]:
    return [RowChange("fundings", "upsert", {
        **p.model_dump(), "funded_at": event.occurred_at, "event_id": str(event.event_id)},
        ("funding_id",))]


@rule("PodSettled")
def _pod_settled(event: Event, p: PodSettled) -> list[RowChange]:
    return [RowChange("pod_settlements", "upsert", {
        "delivery_day": p.delivery_day, "pod_id": p.pod_id, "settlement_id": p.settlement_id,
        "aggregator_id": p.aggregator_id, "customer_id": p.customer_id,
        "mechanism_id": p.mechanism_id,
        "awarded_value_cents": sum(r.awarded_value_cents for r in p.requesters),
        "payment_cents": sum(r.payment_cents for r in p.requesters),
        "penalty_cents": sum(r.penalty_cents for r in p.requesters),
        "customer_cents": p.customer_cents, "penalised": any(r.penalised for r in p.requesters),
        "payload": event.payload, "settled_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("delivery_day", "pod_id"))]


@rule("TokensTransferred")
def _tokens_transferred(event: Event, p: TokensTransferred) -> list[RowChange]:
    return [RowChange("token_transfers", "upsert", {
        **p.model_dump(), "transferred_at": event.occurred_at, "event_id": str(event.event_id)},
        ("settlement_id",))]


@rule("DeliveryDaySettled")
def _day_settled(event: Event, p: DeliveryDaySettled) -> list[RowChange]:
    return [RowChange("day_settlements", "upsert", {
        **p.model_dump(exclude={"outstanding"}), "settled_at": event.occurred_at,
        "event_id": str(event.event_id)}, ("delivery_day", "run"))]
