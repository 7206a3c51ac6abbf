"""What settling a delivery day rests on, read from the read models (FR_MP_SET_3/4): the
accepted awards of the day's validated outcomes, the PoDs' accounts and mechanisms, their
baselines and certified readings per MTU, and what earlier runs settled and paid."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from access_layer.store.models import MeterReadingRow
from aggregator.store.models import BaselineRow
from ledger.store.models import PodRow
from ledger.store.queries import utc
from market.domain.calendar import day_sessions, delivery_mtus
from market.domain.events import PodSettled, SettlementMechanismCreated
from market.domain.settlement import PodAccount, SettledAward
from market.store import queries
from market.store.models import (
    AwardRow,
    DaySettlementRow,
    FlexOfferRow,
    PodSettlementRow,
    SettlementMechanismRow,
    TokenTransferRow,
)


@dataclass(frozen=True)
class DayInput:
    """A delivery day as settlement sees it, per PoD that was awarded anything."""

    awards: dict[str, list[SettledAward]]
    accounts: dict[str, PodAccount]
    baselines: dict[str, dict[int, tuple[float, float]]]
    measured: dict[str, dict[int, tuple[float, float]]]
    mechanisms: dict[str, SettlementMechanismCreated]


def load_day_input(conn: Connection, day: date, zone: ZoneInfo) -> DayInput:
    """The day's validated awards (the newest validated outcome of each of its sessions)
    and what settling them needs."""
    awards: dict[str, list[SettledAward]] = defaultdict(list)
    for slot in day_sessions(day, zone):
        outcome = queries.latest_outcome(conn, slot.session_id, "validated")
        if outcome is None:
            continue
        rows = conn.execute(
            select(AwardRow.request_id, AwardRow.requester_id, AwardRow.aggregator_id,
                   AwardRow.pod_id, AwardRow.mtu, FlexOfferRow.direction,
                   FlexOfferRow.quantity_type, AwardRow.quantity, AwardRow.value_cents)
            .join(FlexOfferRow, FlexOfferRow.offer_id == AwardRow.offer_id)
            .where(AwardRow.event_id == outcome.event_id).order_by(AwardRow.line))
        for row in rows:
            awards[row.pod_id].append(SettledAward(**row._asdict()))
    pod_ids = sorted(awards)
    pods = {r.pod_id: r for r in conn.execute(select(PodRow).where(PodRow.pod_id.in_(pod_ids)))}
    accounts = {p: PodAccount(pods[p].aggregator_id, pods[p].customer_id,
                              pods[p].settlement_mechanism_id) for p in pod_ids if p in pods}
    baselines = {r.pod_id: {s["mtu"]: (s["p_kw"], s["q_kvar"]) for s in r.slots}
                 for r in conn.execute(select(BaselineRow).where(
                     BaselineRow.delivery_day == day, BaselineRow.pod_id.in_(pod_ids)))}
    mtus = delivery_mtus(day, zone)
    index = {m.start: m.index for m in mtus}
    measured: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
    for r in conn.execute(select(MeterReadingRow).where(
            MeterReadingRow.pod_id.in_(pod_ids), MeterReadingRow.interval_start >= mtus[0].start,
            MeterReadingRow.interval_start < mtus[-1].end)):
        measured[r.pod_id][index[utc(r.interval_start)]] = (r.p_kw, r.q_kvar)
    wanted = {a.mechanism_id for a in accounts.values() if a.mechanism_id}
    mechanisms = {r.mechanism_id: SettlementMechanismCreated(
        mechanism_id=r.mechanism_id, aggregator_id=r.aggregator_id,
        revenue_share_pct=r.revenue_share_pct, reward_cents_per_kwh=r.reward_cents_per_kwh,
        penalty_pass_through_pct=r.penalty_pass_through_pct, terms=r.terms)
        for r in conn.execute(select(SettlementMechanismRow).where(
            SettlementMechanismRow.mechanism_id.in_(wanted)))}
    return DayInput(dict(awards), accounts, baselines, dict(measured), mechanisms)


def settled_pods(conn: Connection, day: date) -> list[PodSettled]:
    """The day's settlement outcomes already published (they never change)."""
    rows = conn.scalars(select(PodSettlementRow.payload).where(
        PodSettlementRow.delivery_day == day).order_by(PodSettlementRow.pod_id))
    return [PodSettled.model_validate(p) for p in rows]


def paid_settlement_ids(conn: Connection, day: date) -> set[str]:
    """Settlement ids of the day whose transfer is recorded as made."""
    return set(conn.scalars(select(TokenTransferRow.settlement_id).where(
        TokenTransferRow.delivery_day == day)))


def runs_of(conn: Connection, day: date) -> int:
    """How many settlement runs the day has had."""
    return int(conn.scalar(select(func.count()).select_from(DaySettlementRow).where(
        DaySettlementRow.delivery_day == day)) or 0)


def days_with_outstanding(conn: Connection) -> list[date]:
    """Days whose latest settlement run left transfers unpaid."""
    latest = (select(DaySettlementRow.delivery_day, func.max(DaySettlementRow.run).label("run"))
              .group_by(DaySettlementRow.delivery_day).subquery())
    rows = conn.execute(select(DaySettlementRow.delivery_day).join(
        latest, (latest.c.delivery_day == DaySettlementRow.delivery_day)
        & (latest.c.run == DaySettlementRow.run)).where(DaySettlementRow.outstanding_cents > 0)
        .order_by(DaySettlementRow.delivery_day))
    return list(rows.scalars())
