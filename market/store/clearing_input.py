"""A session's clearing problem, read from the read models: the requests and offers in
before gate closure, eligible PoDs, and each PoD's capacity left after the day-ahead
awards (MARKET_RULES.md "Time": capacity awarded in DA is not sold again in RT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ledger.store.queries import utc
from market.domain.calendar import SessionKind, SessionSlot, session_id
from market.domain.clearing.problem import Bid, ClearingProblem, FlexibleBlock, Need, Step
from market.domain.submissions import PodView
from market.store import queries


@dataclass(frozen=True)
class ClearingInput:
    problem: ClearingProblem
    request_ids: list[str]
    offer_ids: list[str]


def _in_before_gate(row: Any, gate: datetime) -> bool:
    return not row.withdrawn and utc(row.submitted_at) < gate


def load_clearing_input(conn: Connection, slot: SessionSlot,
                        default_reliability: float) -> ClearingInput:
    """What clearing ``slot`` rests on, as the read models hold it now."""
    _, request_rows = queries.list_requests(conn, session_id=slot.session_id)
    _, offer_rows = queries.list_offers(conn, session_id=slot.session_id)
    requests = [r for r in request_rows if _in_before_gate(r, slot.gate_closes_at)]
    offers = [o for o in offer_rows if _in_before_gate(o, slot.gate_closes_at)]
    needs = tuple(_need(conn, r) for r in requests)
    bids = tuple(_bid(o) for o in offers if o.block is None)
    blocks = tuple(_block(o) for o in offers if o.block is not None)
    pods = queries.get_pod_views(conn, {o.pod_id for o in offers})
    day_ahead = ({} if slot.kind is SessionKind.DAY_AHEAD else queries.awarded_capacity(
        conn, session_id(SessionKind.DAY_AHEAD, slot.delivery_day)))
    capacity = remaining_capacity(offers, pods, day_ahead)
    problem = ClearingProblem(session_id=slot.session_id, needs=needs, bids=bids,
                              blocks=blocks, pod_capacity=capacity,
                              default_reliability=default_reliability)
    return ClearingInput(problem, [r.request_id for r in requests],
                         [o.offer_id for o in offers])


def _need(conn: Connection, row: Any) -> Need:
    eligible = (frozenset(queries.list_pods_under(conn, row.location_id))
                if row.role == "TSO" else frozenset(row.eligible_pods))
    return Need(request_id=row.request_id, requester_id=row.requester_id, role=row.role,
                direction=row.direction, quantity_type=row.quantity_type,
                eligible_pods=eligible,
                quantities={q["mtu"]: q["quantity"] for q in row.quantities},
                max_price_eur_per_mwh=row.max_price_eur_per_mwh)


def _bid(row: Any) -> Bid:
    return Bid(offer_id=row.offer_id, aggregator_id=row.aggregator_id, pod_id=row.pod_id,
               direction=row.direction, quantity_type=row.quantity_type,
               steps=tuple(Step(s["mtu"], s["quantity"], s["price_eur_per_mwh"])
                           for s in row.steps), divisible=row.divisible)


def _block(row: Any) -> FlexibleBlock:
    b = row.block
    return FlexibleBlock(offer_id=row.offer_id, aggregator_id=row.aggregator_id,
                         pod_id=row.pod_id, direction=row.direction,
                         quantity_type=row.quantity_type, energy=b["energy"],
                         max_power=b["max_power"], first_mtu=b["first_mtu"],
                         last_mtu=b["last_mtu"], price_eur_per_mwh=b["price_eur_per_mwh"])


def remaining_capacity(offers: list[Any], pods: dict[str, PodView],
              day_ahead: dict[tuple[str, str, str, int], float]
              ) -> dict[tuple[str, Any, Any, int], float]:
    """Each offered PoD's max flexibility per MTU it is offered in, less its DA awards.

    An offer for a PoD no longer registered gets capacity 0: it cannot be delivered.
    """
    capacity: dict[tuple[str, Any, Any, int], float] = {}
    for o in offers:
        pod = pods.get(o.pod_id)
        mtus = ([s["mtu"] for s in o.steps] if o.block is None
                else range(o.block["first_mtu"], o.block["last_mtu"] + 1))
        limit = pod.limit(o.direction, o.quantity_type) if pod and pod.active else 0.0
        for mtu in mtus:
            key = (o.pod_id, o.direction, o.quantity_type, mtu)
            capacity[key] = max(0.0, limit - day_ahead.get(key, 0.0))
    return capacity
