"""The end-of-day KPI report (Platone Annex C): the seven KPIs of a delivery day computed
from the read models, per service where Annex C asks for it.

Services follow the quantity: flexibility in kW (P) serves congestion, in kVAr (Q)
voltage, which is how the DSO asks for them (``FLEXMARKET_DSO_VOLTAGE_QUANTITY_TYPE``);
requests carry their service. Terms that would divide by zero are excluded and counted
in each line, never scored as 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from aggregator.store.models import BaselineRow
from dso.reports import reliability_report
from ledger.settings import Settings
from ledger.store.models import PodRow
from market.domain.calendar import day_sessions
from market.domain.kpis import KPI_TARGETS, kpi_it_01, kpi_pr_01, kpi_pr_02, kpi_pr_03, kpi_pr_04
from market.store.models import FlexOfferRow, FlexRequestRow, PodSettlementRow

SERVICE_OF = {"P": "congestion", "Q": "voltage"}


@dataclass(frozen=True)
class KpiLine:
    """One KPI value of the report and what it rests on."""

    kpi: str
    scope: str  # the service, direction, horizon or asset category it is for
    value_pct: float | None
    target_pct: float
    sense: str  # at_least | at_most
    met: bool | None
    terms: int
    excluded: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _line(kpi: str, scope: str, result: Any, terms: int, excluded: int) -> KpiLine:
    target, sense = KPI_TARGETS[kpi]
    return KpiLine(kpi, scope, result.value_pct, target, sense, result.meets(target),
                   terms, excluded)


def end_of_day_report(conn: Connection, settings: Settings, day: date,
                      customers_contacted: int | None = None) -> list[KpiLine]:
    """Every KPI of ``day``.

    Args:
        conn: the read models.
        settings: the deployment's (time zone).
        day: the delivery day.
        customers_contacted: KPI_PR_01's N_total, from the recruitment campaign (a CRM
            figure the platform does not hold); without it KPI_PR_01 is not computed.
    """
    zone = ZoneInfo(settings.time_zone)
    sessions = [s.session_id for s in day_sessions(day, zone)]
    offers = list(conn.execute(select(FlexOfferRow).where(
        FlexOfferRow.session_id.in_(sessions), FlexOfferRow.withdrawn.is_(False))))
    requests = list(conn.execute(select(FlexRequestRow).where(
        FlexRequestRow.session_id.in_(sessions), FlexRequestRow.withdrawn.is_(False))))
    customers = conn.scalar(select(func.count(func.distinct(PodRow.customer_id))).where(
        PodRow.active)) or 0
    active = conn.scalar(select(func.count(func.distinct(PodRow.customer_id))).where(
        PodRow.pod_id.in_({o.pod_id for o in offers}))) or 0
    lines = []
    if customers_contacted is not None:
        recruited = kpi_pr_01(min(customers, customers_contacted), customers_contacted)
        lines.append(_line("KPI_PR_01", "all", recruited, 1, recruited.excluded))
    participating = kpi_pr_02(active, max(customers, active))
    lines.append(_line("KPI_PR_02", "all", participating, 1, participating.excluded))

    baselines = {r.pod_id: {s["mtu"]: (s["p_kw"], s["q_kvar"]) for s in r.slots}
                 for r in conn.execute(select(BaselineRow).where(BaselineRow.delivery_day == day))}
    settled = [r.payload for r in conn.execute(select(PodSettlementRow).where(
        PodSettlementRow.delivery_day == day))]
    for qtype, service in SERVICE_OF.items():
        lines += _availability(offers, baselines, qtype, service)
        lines += _effectiveness(settled, qtype, service)
        lines += _liquidity(offers, requests, qtype, service)

    reliability = reliability_report(conn, settings, day)
    for horizon, result in reliability.kpi_it_02.items():
        lines.append(_line("KPI_IT_02", horizon, result, result.terms, result.excluded_terms))
    for horizon, by_category in reliability.kpi_it_03.items():
        for category, result in by_category.items():
            lines.append(_line("KPI_IT_03", f"{horizon} {category}", result, result.terms,
                               result.excluded_terms))
    return lines


def _offered(offers: Iterable[Any], qtype: str, direction: str) -> dict[int, dict[str, float]]:
    """Per MTU and PoD, the most offered in any one session (a PoD offered again in real
    time offers the same capacity, not more)."""
    by_session: dict[tuple[str, int, str], float] = defaultdict(float)
    for o in offers:
        if o.quantity_type != qtype or o.direction != direction:
            continue
        if o.block:
            for mtu in range(o.block["first_mtu"], o.block["last_mtu"] + 1):
                by_session[(o.session_id, mtu, o.pod_id)] += o.block["max_power"]
        for step in o.steps:
            by_session[(o.session_id, step["mtu"], o.pod_id)] += step["quantity"]
    best: dict[int, dict[str, float]] = defaultdict(dict)
    for (_, mtu, pod), quantity in by_session.items():
        best[mtu][pod] = max(best[mtu].get(pod, 0.0), quantity)
    return best


def _availability(offers: list[Any], baselines: dict[str, dict[int, tuple[float, float]]],
                  qtype: str, service: str) -> list[KpiLine]:
    up, down = _offered(offers, qtype, "up"), _offered(offers, qtype, "down")
    pods = {p for values in (*up.values(), *down.values()) for p in values}
    if not pods:
        return []
    column = 0 if qtype == "P" else 1
    baseline = {mtu: {p: baselines[p][mtu][column] for p in pods
                      if p in baselines and mtu in baselines[p]}
                for mtu in set(up) | set(down)}
    result = kpi_pr_03(up, down, baseline, down_positive=True)
    return [_line("KPI_PR_03", f"{service} {direction}", r, r.terms, r.excluded_terms)
            for direction, r in (("up", result.up), ("down", result.down))]


def _effectiveness(settled: list[dict[str, Any]], qtype: str, service: str) -> list[KpiLine]:
    provided: dict[int, dict[str, float]] = defaultdict(dict)
    setpoint: dict[int, dict[str, float]] = defaultdict(dict)
    for outcome in settled:
        for m in outcome["mtus"]:
            if m["quantity_type"] != qtype:
                continue
            key = f"{outcome['pod_id']}:{m['direction']}"
            provided[m["mtu"]][key] = m["delivered"]
            setpoint[m["mtu"]][key] = m["awarded"]
    if not setpoint:
        return []
    result = kpi_pr_04(provided, setpoint)
    return [_line("KPI_PR_04", service, result, result.terms, result.excluded_terms)]


def _liquidity(offers: list[Any], requests: list[Any], qtype: str,
               service: str) -> list[KpiLine]:
    wanted = [r for r in requests if r.service == service]
    if not wanted:
        return []
    offered = {d: defaultdict(dict) for d in ("up", "down")}
    requested = {d: defaultdict(dict) for d in ("up", "down")}
    for o in offers:
        if o.quantity_type == qtype:
            for step in o.steps:
                cell = offered[o.direction][step["mtu"]]
                cell[o.offer_id] = cell.get(o.offer_id, 0.0) + step["quantity"]
    for r in wanted:
        for q in r.quantities:
            requested[r.direction][q["mtu"]][r.request_id] = q["quantity"]
    result = kpi_it_01(offered["up"], requested["up"], offered["down"], requested["down"])
    return [_line("KPI_IT_01", f"{service} {direction}", r, r.periods, r.excluded_periods)
            for direction, r in (("up", result.up), ("down", result.down))
            if requested[direction]]
