"""The last stage of ``make demo``: what the market day did, one line per stage, and its
KPIs, read from the demo's read models. ``day_summary`` returns it all as plain data
(for a report); ``print_summary`` prints it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Connection, Engine, func, select

from access_layer.store.models import (
    LightNodeRow,
    MeterReadingRow,
    MissingReadingRow,
    RejectedPacketRow,
    SetpointRow,
)
from aggregator.store.models import BaselineRow
from ledger.settings import Settings
from ledger.store.models import AnchorBatchRow, EventRow, PodRow
from market.domain.calendar import local_midnight
from market.kpi_report import end_of_day_report
from market.store.models import (
    FlexOfferRow,
    FlexRequestRow,
    PodSettlementRow,
    TokenTransferRow,
)
from market.store.queries import latest_outcome

# KPI_PR_01 divides by the customers the recruitment campaign contacted, a CRM figure the
# platform does not hold: the demo assumes its campaign contacted four for each who joined.
CONTACTED_PER_CUSTOMER = 4
# Forecast reliability (KPI_IT_02/03) needs weeks of readings; the demo has one day.
SKIPPED_KPIS = ("KPI_IT_02", "KPI_IT_03")


def day_summary(settings: Settings, engine: Engine, day: date, session_ids: Sequence[str],
                *, audit: dict[str, Any]) -> dict[str, Any]:
    """Everything the summary prints, as plain data (JSON-ready: numbers, strings, lists,
    dicts; money in cents).

    Args:
        settings: the demo deployment's (its topics prefix, grid, time zone).
        engine: its read models.
        day: the delivery day.
        session_ids: the day's sessions (day-ahead first, then RT-0..5).
        audit: what ``market.demo_audit.run_audit`` returned.
    """
    zone = ZoneInfo(settings.time_zone)
    start = local_midnight(day, zone)
    end = local_midnight(day + timedelta(days=1), zone)
    with engine.connect() as conn:
        sessions = [_session(conn, s) for s in session_ids]
        setpoints = _setpoints(conn, [s for s in session_ids if s.startswith("RT-")])
        summary = {
            "delivery_day": day.isoformat(), "grid": settings.dso_grid,
            "topic_prefix": settings.topic_prefix, "read_models": settings.read_model_url,
            "pods": _pods(conn, day),
            "sessions": sessions,
            "market_outcomes": sum(1 for s in sessions if s["cleared"]),
            "technical_validations": {
                "sessions": sum(1 for s in sessions if s["validated"]),
                **{k: sum(s[k] for s in sessions) for k in ("accepted", "cut", "rejected")}},
            "setpoints": setpoints,
            "readings": {name: _in_day(conn, model, start, end) for name, model in (
                ("certified", MeterReadingRow), ("rejected", RejectedPacketRow),
                ("missing", MissingReadingRow))},
            "settlement": _settlement(conn, day),
            "token_transfers": _transfers(conn, day),
            "anchoring": _anchoring(conn),
            "audit": audit,
            "kpis": _kpis(conn, settings, day),
        }
    return summary


def _session(conn: Connection, session_id: str) -> dict[str, Any]:
    roles = Counter(conn.scalars(select(FlexRequestRow.role).where(
        FlexRequestRow.session_id == session_id, FlexRequestRow.withdrawn.is_(False))))
    offers = conn.scalar(select(func.count()).select_from(FlexOfferRow).where(
        FlexOfferRow.session_id == session_id, FlexOfferRow.withdrawn.is_(False))) or 0
    market = latest_outcome(conn, session_id, "market")
    technical = latest_outcome(conn, session_id, "technical")
    validated = latest_outcome(conn, session_id, "validated")
    stats = technical.payload["statistics"] if technical else {}
    awards = [a for a in validated.payload["awards"] if a["quantity"] > 0] if validated else []
    return {"session_id": session_id, "kind": session_id.split("-")[0],
            "requests": {"DSO": roles.get("DSO", 0), "TSO": roles.get("TSO", 0)},
            "offers": offers, "cleared": market is not None,
            "market_awards": len(market.payload["awards"]) if market else 0,
            "validated": validated is not None, "awards": len(awards),
            "awarded_kw_mtu": round(sum(a["quantity"] for a in awards), 1),
            "value_cents": validated.payload["total_value_cents"] if validated else 0,
            "accepted": stats.get("accepted", 0), "cut": stats.get("partially_accepted", 0),
            "rejected": stats.get("rejected", 0)}


def _pods(conn: Connection, day: date) -> dict[str, Any]:
    by_aggregator = dict(conn.execute(select(PodRow.aggregator_id, func.count())
                                      .where(PodRow.active).group_by(PodRow.aggregator_id)
                                      .order_by(PodRow.aggregator_id)).all())
    return {"registered": _count(conn, PodRow), "active": sum(by_aggregator.values()),
            "by_aggregator": by_aggregator, "light_nodes": _count(conn, LightNodeRow),
            "baselines": conn.scalar(select(func.count()).select_from(BaselineRow).where(
                BaselineRow.delivery_day == day)) or 0}


def _setpoints(conn: Connection, sessions: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(select(SetpointRow.activation_id, SetpointRow.relayed_at,
                               SetpointRow.sent_by_dso_at)
                        .where(SetpointRow.session_id.in_(sessions))).all()
    ids = {r.activation_id for r in rows}
    refused = sum(1 for e in conn.execute(select(EventRow.payload).where(
        EventRow.type == "SetpointRefused")) if e.payload["activation_id"] in ids)
    return {"issued": len(rows), "relayed": sum(1 for r in rows if r.relayed_at),
            "refused": refused, "acknowledged": sum(1 for r in rows if r.sent_by_dso_at)}


def _settlement(conn: Connection, day: date) -> dict[str, Any]:
    rows = conn.execute(select(PodSettlementRow).where(
        PodSettlementRow.delivery_day == day)).all()
    return {"pods_settled": len(rows), "pods_penalised": sum(1 for r in rows if r.penalised),
            "payment_cents": sum(r.payment_cents for r in rows),
            "penalty_cents": sum(r.penalty_cents for r in rows),
            "customer_cents": sum(r.customer_cents for r in rows)}


def _transfers(conn: Connection, day: date) -> dict[str, Any]:
    by_kind = {kind: {"count": n, "cents": int(cents)} for kind, n, cents in conn.execute(
        select(TokenTransferRow.kind, func.count(), func.sum(TokenTransferRow.amount_cents))
        .where(TokenTransferRow.delivery_day == day).group_by(TokenTransferRow.kind)
        .order_by(TokenTransferRow.kind))}
    return {"count": sum(k["count"] for k in by_kind.values()),
            "cents": sum(k["cents"] for k in by_kind.values()), "by_kind": by_kind}


def _anchoring(conn: Connection) -> dict[str, int]:
    batches, events = conn.execute(select(func.count(), func.sum(AnchorBatchRow.count))).one()
    return {"batches": batches or 0, "events": int(events or 0)}


def _kpis(conn: Connection, settings: Settings, day: date) -> list[dict[str, Any]]:
    customers = conn.scalar(select(func.count(func.distinct(PodRow.customer_id))).where(
        PodRow.active)) or 0
    lines = end_of_day_report(conn, settings, day, CONTACTED_PER_CUSTOMER * customers)
    return [{"kpi": k.kpi, "scope": k.scope, "value_pct": k.value_pct,
             "target_pct": k.target_pct, "sense": k.sense, "met": k.met}
            for k in lines if k.kpi not in SKIPPED_KPIS]


def _count(conn: Connection, model: Any) -> int:
    return conn.scalar(select(func.count()).select_from(model)) or 0


def _in_day(conn: Connection, model: Any, start: Any, end: Any) -> int:
    return conn.scalar(select(func.count()).select_from(model).where(
        model.interval_start >= start, model.interval_start < end)) or 0


def print_summary(summary: dict[str, Any]) -> None:
    """Print ``day_summary``'s table "what the day did", then the KPIs."""
    click.secho(f"10. what the day did: {summary['delivery_day']} on {summary['grid']}",
                bold=True)
    pods = summary["pods"]
    _line("PoDs registered", f"{pods['registered']} ({pods['active']} active: " + ", ".join(
        f"{a} {n}" for a, n in pods["by_aggregator"].items()) + f"); {pods['light_nodes']} "
          f"light nodes enrolled, {pods['baselines']} baselines for the day")
    click.echo(f"   {'sessions':<22} {'requests DSO+TSO':>16} {'offers':>7} {'awards':>7} "
               f"{'kW·MTU':>9} {'accepted/cut/rejected':>22} {'value':>10}")
    for s in summary["sessions"]:
        click.echo(f"     {s['session_id']:<20} {s['requests']['DSO']:>10} + "
                   f"{s['requests']['TSO']:<3} {s['offers']:>7} {s['awards']:>7} "
                   f"{s['awarded_kw_mtu']:>9.1f} "
                   f"{'{}/{}/{}'.format(s['accepted'], s['cut'], s['rejected']):>22} "
                   f"{s['value_cents'] / 100:>8.2f} €")
    _line("market outcomes", f"{summary['market_outcomes']} MarketCleared (NSGA-II)")
    tv = summary["technical_validations"]
    _line("technical validations", f"{tv['sessions']} TechnicalValidationCompleted: "
          f"{tv['accepted']} awards accepted, {tv['cut']} cut, {tv['rejected']} rejected")
    sp = summary["setpoints"]
    _line("setpoints", f"{sp['issued']} issued, {sp['relayed']} relayed, {sp['refused']} "
          f"refused, {sp['acknowledged']} acknowledged")
    rd = summary["readings"]
    _line("readings", f"{rd['certified']:,} certified, {rd['rejected']} rejected, "
          f"{rd['missing']} missing")
    st = summary["settlement"]
    _line("settlement", f"{st['pods_settled']} PoDs settled, {st['pods_penalised']} penalised; "
          f"earned {st['payment_cents'] / 100:,.2f} € less penalties "
          f"{st['penalty_cents'] / 100:,.2f} €, customers' share "
          f"{st['customer_cents'] / 100:,.2f} €")
    tt = summary["token_transfers"]
    _line("token transfers", f"{tt['count']} on anvil, {tt['cents'] / 100:,.2f} € (" + ", ".join(
        f"{k} {v['count']}" for k, v in tt["by_kind"].items()) + ")")
    an = summary["anchoring"]
    _line("anchoring", f"{an['events']:,} events in {an['batches']:,} Merkle batches on chain")
    au = summary["audit"]
    findings = ", ".join(f"{n} {k}" for k, n in au["findings"].items()) or "no findings"
    refused = "; ".join(f"{v['packets']} packets of {pod}" for pod, v in
                        au["rejected_packets"].items())
    _line("audit", f"{au['records']:,} records in {au['batches']:,} batches checked: "
          f"{au['tampering']} tampering, {findings}; refused: {refused or 'none'} "
          f"(forged node {au['forged_pod']})")
    click.echo(f"   KPIs (Platone Annex C; KPI_PR_01 with {CONTACTED_PER_CUSTOMER} customers "
               "contacted per customer recruited, an assumed campaign figure):")
    for k in summary["kpis"]:
        value = "n/a" if k["value_pct"] is None else f"{k['value_pct']:.1f} %"
        verdict = {True: "met", False: "not met", None: "-"}[k["met"]]
        click.echo(f"     {k['kpi']} {k['scope']:<18} {value:>9}  (target "
                   f"{'≥' if k['sense'] == 'at_least' else '≤'} {k['target_pct']:g} %: "
                   f"{verdict})")


def zero_counts(summary: dict[str, Any]) -> list[str]:
    """The stages that counted nothing (each must count something in the demo)."""
    checks = {
        "PoDs registered": summary["pods"]["registered"],
        "light nodes": summary["pods"]["light_nodes"],
        "market outcomes": summary["market_outcomes"],
        "technical validations": summary["technical_validations"]["sessions"],
        **{f"setpoints {k}": summary["setpoints"][k]
           for k in ("issued", "relayed", "acknowledged")},
        **{f"readings {k}": v for k, v in summary["readings"].items()},
        "PoDs settled": summary["settlement"]["pods_settled"],
        "PoDs penalised": summary["settlement"]["pods_penalised"],
        "token transfers": summary["token_transfers"]["count"],
        "anchored batches": summary["anchoring"]["batches"],
        "audited records": summary["audit"]["records"],
    }
    for s in summary["sessions"]:
        for what in ("offers", "awards"):
            checks[f"{s['session_id']} {what}"] = s[what]
        checks[f"{s['session_id']} requests"] = sum(s["requests"].values())
    return [name for name, n in checks.items() if not n]


def _line(stage: str, text: str) -> None:
    click.echo(f"   {stage:<22} {text}")
