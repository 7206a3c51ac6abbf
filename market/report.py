"""The demo's HTML report of one delivery day: a file that opens in any browser without a
server, its plots drawn by the dashboard's own ``plots.js`` (inlined), from figures read
out of the read models:

- the Pareto front of every session that cleared;
- bus voltages before and after each session's awards, in its worst MTU;
- what was delivered against what was awarded, per MTU, as settlement measured it;
- the token flows of the day's settlement, by kind and by payer and payee.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from dso.domain.powerflow import Limits, PowerFlow
from dso.grids import limits_of, power_flow_of
from dso.picture import GridPicture, PictureDiverged, session_picture
from ledger.settings import Settings
from market.domain.calendar import day_sessions
from market.kpi_report import end_of_day_report
from market.store.models import (
    FlexOfferRow,
    FlexRequestRow,
    PodSettlementRow,
    TokenTransferRow,
)
from market.store.queries import latest_outcome

STATIC = Path(__file__).parent / "web" / "static"


def day_report_data(conn: Connection, settings: Settings, day: date) -> dict[str, Any]:
    """Everything the report draws, as plain JSON data."""
    zone = ZoneInfo(settings.time_zone)
    pf, limits = power_flow_of(settings.dso_grid), limits_of(settings)
    sessions = []
    for slot in day_sessions(day, zone):
        market = latest_outcome(conn, slot.session_id, "market")
        validated = latest_outcome(conn, slot.session_id, "validated")
        picture = _picture(conn, settings, pf, limits, slot.session_id) \
            if validated is not None else None
        sessions.append({
            "session_id": slot.session_id, "kind": str(slot.kind),
            "requests": _count(conn, FlexRequestRow, slot.session_id),
            "offers": _count(conn, FlexOfferRow, slot.session_id),
            "awards": len(validated.payload["awards"]) if validated else 0,
            "pareto_front": market.payload["pareto_front"] if market else [],
            "objectives": market.payload["objectives"] if market else None,
            "grid": None if picture is None else {
                "grid": picture.grid, "mtu": picture.mtu,
                "v_min_pu": limits.v_min_pu, "v_max_pu": limits.v_max_pu,
                "max_loading_pct": limits.max_loading_pct,
                "buses": [vars(b) for b in picture.buses],
                "branches": [vars(b) for b in picture.branches]}})
    return {"day": day.isoformat(), "grid": pf.grid.name, "sessions": sessions,
            "delivery": _delivery(conn, day), "tokens": _token_flows(conn, day),
            "kpis": [{"kpi": k.kpi, "scope": k.scope, "value_pct": k.value_pct,
                      "target_pct": k.target_pct, "sense": k.sense}
                     for k in end_of_day_report(conn, settings, day)]}


def render_report(data: dict[str, Any], summary: dict[str, Any] | None = None) -> str:
    """The report as one HTML document (styles and scripts inline)."""
    # Inside <script> no "<" may stay: "</script>" or "<!--" in the data would end or
    # bend the element. JSON's \u003c is the same character to the script.
    payload = json.dumps({**data, "summary": summary or {}}, default=str).replace("<", "\\u003c")
    day, grid = html.escape(data["day"]), html.escape(data["grid"])
    css = (STATIC / "style.css").read_text()
    scripts = "\n".join((STATIC / name).read_text() for name in ("dom.js", "plots.js",
                                                                  "report.js"))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>flexmarket — market day {day}</title><style>{css}</style></head>"
            f"<body><header><strong>flexmarket</strong> market day {day} on "
            f"{grid}</header><main id=\"report\"></main>"
            f"<script>const REPORT = {payload};</script><script>{scripts}</script>"
            f"</body></html>")


def write_day_report(engine: Engine, settings: Settings, day: date, path: Path,
                     summary: dict[str, Any] | None = None) -> Path:
    """Write the report of ``day`` to ``path`` and return it."""
    with engine.connect() as conn:
        data = day_report_data(conn, settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data, summary), encoding="utf-8")
    return path


def _picture(conn: Connection, settings: Settings, pf: PowerFlow, limits: Limits,
             session_id: str) -> GridPicture | None:
    """The session's grid picture, or none when even its worst MTU's flow diverges."""
    try:
        return session_picture(conn, settings, pf, limits, session_id)
    except PictureDiverged:
        return None


def _count(conn: Connection, model: Any, session_id: str) -> int:
    return conn.scalar(select(func.count()).select_from(model).where(
        model.session_id == session_id)) or 0


def _delivery(conn: Connection, day: date) -> dict[str, list[float]]:
    """Per MTU, the kW awarded and delivered over every settled PoD."""
    awarded: dict[int, float] = defaultdict(float)
    delivered: dict[int, float] = defaultdict(float)
    for payload in conn.scalars(select(PodSettlementRow.payload).where(
            PodSettlementRow.delivery_day == day)):
        for m in payload["mtus"]:
            awarded[m["mtu"]] += m["awarded"]
            delivered[m["mtu"]] += max(m["delivered"], 0.0)
    mtus = sorted(awarded)
    return {"mtus": mtus, "awarded_kw": [round(awarded[m], 2) for m in mtus],
            "delivered_kw": [round(delivered[m], 2) for m in mtus]}


def _token_flows(conn: Connection, day: date) -> dict[str, Any]:
    by_kind: dict[str, int] = defaultdict(int)
    flows: dict[tuple[str, str], int] = defaultdict(int)
    for t in conn.execute(select(TokenTransferRow).where(TokenTransferRow.delivery_day == day)):
        by_kind[t.kind] += t.amount_cents
        # Customers are many; their rewards are shown as one flow per aggregator.
        payee = "customers" if t.kind == "customer_reward" else t.payee_id
        flows[(t.payer_id, payee)] += t.amount_cents
    return {"by_kind": dict(sorted(by_kind.items())),
            "flows": [{"payer": p, "payee": q, "cents": c}
                      for (p, q), c in sorted(flows.items(), key=lambda f: -f[1])]}
