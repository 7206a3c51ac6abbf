"""What the DSO posts to a session from its forecast (Platone FR_DTP_ROF_3, flow 2c): one
alert per violated asset and one flexibility request per need, in the market's own
request schema, so the market's arrival rules apply to the DSO as to anyone."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from dso.domain.events import GridAlertRaised
from dso.domain.requests import FlexNeed, GridAlert
from market.domain.calendar import SessionSlot
from market.domain.events import FlexRequestSubmitted, GridPoint, MtuQuantity
from market.domain.submissions import player_service_id


def request_id(slot: SessionSlot, need: FlexNeed) -> str:
    """Stable per session and need: posting again after a restart names the same request."""
    return (f"DSOREQ-{slot.session_id}-{need.grid_point}-{need.service}-"
            f"{need.quantity_type}-{need.direction}")


def alerts_of(slot: SessionSlot, alerts: Sequence[GridAlert]) -> list[GridAlertRaised]:
    """The alerts of a session's window, one per (grid point, kind, asset), worst first
    within it; power flows that did not converge are named as such."""
    grouped: dict[tuple[str, str, str], list[GridAlert]] = {}
    for a in alerts:
        grouped.setdefault((a.grid_point, a.kind, a.asset), []).append(a)
    out = []
    for (point, kind, asset), found in sorted(grouped.items()):
        worst = min(found, key=lambda a: a.value) if kind == "undervoltage" else max(
            found, key=lambda a: a.value)
        out.append(GridAlertRaised(
            session_id=slot.session_id, issue_type=found[0].issue_type, kind=kind,
            asset=asset, grid_point=point, mtus=tuple(sorted({a.mtu for a in found})),
            worst_value=worst.value if kind != "no_convergence" else 0.0,
            limit=worst.limit, flexibility=max(a.flexibility for a in found),
            quantity_type=worst.quantity_type, direction=worst.direction))
    return out


def request_of(slot: SessionSlot, need: FlexNeed, requester_id: str,
               zone: ZoneInfo) -> FlexRequestSubmitted:
    """``need`` as the market's FlexRequestSubmitted, for the MTUs the session delivers."""
    return FlexRequestSubmitted(
        request_id=request_id(slot, need), session_id=slot.session_id,
        requester_id=requester_id, role="DSO", service=need.service,
        quantity_type=need.quantity_type, direction=need.direction,
        location=GridPoint(kind=need.grid_point_kind, id=need.grid_point),
        eligible_pods=need.pod_ids,
        quantities=tuple(MtuQuantity(mtu=m, quantity=q)
                         for m, q in sorted(need.quantities.items()) if slot.covers(m)),
        player_service_id=player_service_id(requester_id, need.grid_point, slot, zone))
