"""SQLAlchemy tables of the market: requests, offers, outcomes and awards, settlement
mechanisms, fundings and settlements (read models, rebuilt by a replay), and the API's
idempotency keys (not a read model: see below)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.models import Base


class FlexRequestRow(Base):
    """A flexibility request of a session (FlexRequestSubmitted / …Withdrawn)."""

    __tablename__ = "flex_requests"

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    requester_id: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(3))
    service: Mapped[str] = mapped_column(String(20))
    quantity_type: Mapped[str] = mapped_column(String(1))
    direction: Mapped[str] = mapped_column(String(4))
    location_kind: Mapped[str] = mapped_column(String(30))
    location_id: Mapped[str] = mapped_column(String(100))
    eligible_pods: Mapped[list[Any]] = mapped_column(JSON)
    quantities: Mapped[list[Any]] = mapped_column(JSON)
    max_price_eur_per_mwh: Mapped[float | None] = mapped_column(Float)
    player_service_id: Mapped[str] = mapped_column(String(300))
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class FlexOfferRow(Base):
    """A flexibility offer of a session (FlexOfferSubmitted / …Withdrawn)."""

    __tablename__ = "flex_offers"

    offer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    pod_id: Mapped[str] = mapped_column(String(100), index=True)
    quantity_type: Mapped[str] = mapped_column(String(1))
    direction: Mapped[str] = mapped_column(String(4))
    divisible: Mapped[bool] = mapped_column(Boolean)
    steps: Mapped[list[Any]] = mapped_column(JSON)
    block: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    player_service_id: Mapped[str] = mapped_column(String(300))
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class OutcomeRow(Base):
    """A market, technical or validated outcome of a session, as published."""

    __tablename__ = "outcomes"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    stage: Mapped[str] = mapped_column(String(10))  # market | technical | validated
    # The market outcome a technical or validated outcome belongs to (its own id if market).
    market_outcome_event_id: Mapped[str] = mapped_column(String(36), index=True)
    published_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class AwardRow(Base):
    """One award line of a market or validated outcome, for per-participant reads and the
    real-time netting of day-ahead awards."""

    __tablename__ = "awards"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    stage: Mapped[str] = mapped_column(String(10))
    request_id: Mapped[str] = mapped_column(String(100))
    requester_id: Mapped[str] = mapped_column(String(100), index=True)
    offer_id: Mapped[str] = mapped_column(String(100))
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    pod_id: Mapped[str] = mapped_column(String(100), index=True)
    mtu: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[float] = mapped_column(Float)
    price_eur_per_mwh: Mapped[float] = mapped_column(Float)
    value_cents: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKeyRow(Base):
    """A submission accepted under an ``Idempotency-Key``: the API's own record, written
    before the event is published, so a retry gets the same answer and the very same
    event. Not derived from the log, hence kept out of replays (it is not a read model)."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(66))
    event_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(Text)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SettlementMechanismRow(Base):
    """An aggregator's settlement mechanism (SettlementMechanismCreated, FR_MP_SET_1/2)."""

    __tablename__ = "settlement_mechanisms"

    mechanism_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    revenue_share_pct: Mapped[float] = mapped_column(Float)
    reward_cents_per_kwh: Mapped[float] = mapped_column(Float)
    penalty_pass_through_pct: Mapped[float] = mapped_column(Float)
    terms: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class FundingRow(Base):
    """Money a system operator paid in (OperatorFunded)."""

    __tablename__ = "fundings"

    funding_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(100), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(300))
    funded_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class PodSettlementRow(Base):
    """The settlement outcome of one PoD for one delivery day (PodSettled, FR_MP_SET_4)."""

    __tablename__ = "pod_settlements"

    delivery_day: Mapped[date] = mapped_column(Date, primary_key=True)
    pod_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    settlement_id: Mapped[str] = mapped_column(String(100))
    aggregator_id: Mapped[str] = mapped_column(String(100), index=True)
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    mechanism_id: Mapped[str | None] = mapped_column(String(100))
    awarded_value_cents: Mapped[int] = mapped_column(BigInteger)
    payment_cents: Mapped[int] = mapped_column(BigInteger)
    penalty_cents: Mapped[int] = mapped_column(BigInteger)
    customer_cents: Mapped[int] = mapped_column(BigInteger)
    penalised: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict[str, Any]]
    settled_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class TokenTransferRow(Base):
    """FlexTokens moved on chain for a settlement (TokensTransferred)."""

    __tablename__ = "token_transfers"

    settlement_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    delivery_day: Mapped[date] = mapped_column(Date, index=True)
    pod_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    payer_id: Mapped[str] = mapped_column(String(100), index=True)
    payee_id: Mapped[str] = mapped_column(String(100), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    transferred_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))


class DaySettlementRow(Base):
    """One settlement run of a delivery day (DeliveryDaySettled)."""

    __tablename__ = "day_settlements"

    delivery_day: Mapped[date] = mapped_column(Date, primary_key=True)
    run: Mapped[int] = mapped_column(Integer, primary_key=True)
    pods: Mapped[int] = mapped_column(Integer)
    transfers: Mapped[int] = mapped_column(Integer)
    paid_cents: Mapped[int] = mapped_column(BigInteger)
    outstanding_cents: Mapped[int] = mapped_column(BigInteger)
    settled_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(36))
