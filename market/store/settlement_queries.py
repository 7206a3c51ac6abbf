"""Read-model queries of settlement: mechanisms, settlements, transfers and wallets."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, or_, select

from market.store.models import (
    DaySettlementRow,
    FundingRow,
    PodSettlementRow,
    SettlementMechanismRow,
    TokenTransferRow,
)


def get_mechanism(conn: Connection, mechanism_id: str) -> Any | None:
    return conn.execute(select(SettlementMechanismRow).where(
        SettlementMechanismRow.mechanism_id == mechanism_id)).first()


def get_funding(conn: Connection, funding_id: str) -> Any | None:
    return conn.execute(select(FundingRow).where(FundingRow.funding_id == funding_id)).first()


def mechanisms_of(conn: Connection, aggregator_id: str) -> list[Any]:
    """FR_MP_SET_2: the aggregator's mechanisms, oldest first."""
    return list(conn.execute(select(SettlementMechanismRow).where(
        SettlementMechanismRow.aggregator_id == aggregator_id).order_by(
        SettlementMechanismRow.created_at, SettlementMechanismRow.mechanism_id)))


def settlements_of(conn: Connection, participant_id: str, first: date, last: date) -> list[Any]:
    """PoD settlements of days ``first``..``last`` the participant is part of: as the
    PoD's aggregator or customer, or as a system operator that paid or was paid."""
    paid = select(TokenTransferRow.pod_id, TokenTransferRow.delivery_day).where(
        or_(TokenTransferRow.payer_id == participant_id,
            TokenTransferRow.payee_id == participant_id))
    rows = conn.execute(select(PodSettlementRow).where(
        PodSettlementRow.delivery_day >= first, PodSettlementRow.delivery_day <= last)
        .order_by(PodSettlementRow.delivery_day, PodSettlementRow.pod_id))
    involved = {(p, d) for p, d in conn.execute(paid)}
    return [r for r in rows if participant_id in (r.aggregator_id, r.customer_id)
            or (r.pod_id, r.delivery_day) in involved
            or any(line["requester_id"] == participant_id
                   for line in r.payload.get("requesters", []))]


def transfers_of(conn: Connection, participant_id: str, limit: int = 1000) -> list[Any]:
    """The participant's token transfers in and out, newest first."""
    return list(conn.execute(select(TokenTransferRow).where(
        or_(TokenTransferRow.payer_id == participant_id,
            TokenTransferRow.payee_id == participant_id)).order_by(
        TokenTransferRow.transferred_at.desc(), TokenTransferRow.settlement_id).limit(limit)))


def day_runs(conn: Connection, day: date) -> list[Any]:
    return list(conn.execute(select(DaySettlementRow).where(
        DaySettlementRow.delivery_day == day).order_by(DaySettlementRow.run)))
