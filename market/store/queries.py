"""Read-model queries of the market (SQL stays here, out of handlers and processors)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.store.models import PodRow
from market.domain.submissions import PodView
from market.store.models import (
    AwardRow,
    FlexOfferRow,
    FlexRequestRow,
    IdempotencyKeyRow,
    OutcomeRow,
)

Page = tuple[int, list[Any]]


def pod_view(row: Any) -> PodView:
    return PodView(pod_id=row.pod_id, aggregator_id=row.aggregator_id,
                   primary_substation=row.primary_substation, mv_feeder=row.mv_feeder,
                   secondary_substation=row.secondary_substation, up_p_kw=row.up_p_kw,
                   down_p_kw=row.down_p_kw, up_q_kvar=row.up_q_kvar,
                   down_q_kvar=row.down_q_kvar, active=row.active, pom_id=row.pom_id)


def get_pod(conn: Connection, pod_id: str) -> Any | None:
    return conn.execute(select(PodRow).where(PodRow.pod_id == pod_id)).first()


def get_pod_views(conn: Connection, pod_ids: Iterable[str]) -> dict[str, PodView]:
    """The registered PoDs among ``pod_ids``, by id."""
    ids = sorted(set(pod_ids))
    views: dict[str, PodView] = {}
    for start in range(0, len(ids), 5000):
        rows = conn.execute(select(PodRow).where(PodRow.pod_id.in_(ids[start:start + 5000])))
        views.update((row.pod_id, pod_view(row)) for row in rows)
    return views


def active_pods(conn: Connection) -> list[PodView]:
    """Every registered PoD still in the market, by id."""
    rows = conn.execute(select(PodRow).where(PodRow.active.is_(True)).order_by(PodRow.pod_id))
    return [pod_view(row) for row in rows]


# A PoD's PoM as ``PodView.pom`` gives it: the DSO's association, else its substation.
_pom = func.coalesce(PodRow.pom_id, PodRow.primary_substation)


def list_pods_under(conn: Connection, pom: str) -> dict[str, PodView]:
    """The active PoDs under a PoM (see ``PodView.pom``)."""
    rows = conn.execute(select(PodRow).where(_pom == pom, PodRow.active.is_(True)))
    return {row.pod_id: pod_view(row) for row in rows}


def pom_known(conn: Connection, pom: str) -> bool:
    return conn.scalar(select(func.count()).select_from(PodRow).where(
        _pom == pom, PodRow.active.is_(True))) != 0


def _page(conn: Connection, query: Any, order: Any, limit: int, offset: int) -> Page:
    total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
    return total, list(conn.execute(query.order_by(*order).limit(limit).offset(offset)))


def list_pods(conn: Connection, *, aggregator_id: str | None, limit: int, offset: int) -> Page:
    query = select(PodRow)
    if aggregator_id is not None:
        query = query.where(PodRow.aggregator_id == aggregator_id)
    return _page(conn, query, (PodRow.pod_id,), limit, offset)


def get_request(conn: Connection, request_id: str) -> Any | None:
    return conn.execute(select(FlexRequestRow).where(
        FlexRequestRow.request_id == request_id)).first()


def list_requests(conn: Connection, *, session_id: str, requester_id: str | None = None,
                  limit: int = 10**9, offset: int = 0) -> Page:
    query = select(FlexRequestRow).where(FlexRequestRow.session_id == session_id)
    if requester_id is not None:
        query = query.where(FlexRequestRow.requester_id == requester_id)
    return _page(conn, query, (FlexRequestRow.submitted_at, FlexRequestRow.request_id),
                 limit, offset)


def get_offer(conn: Connection, offer_id: str) -> Any | None:
    return conn.execute(select(FlexOfferRow).where(FlexOfferRow.offer_id == offer_id)).first()


def list_offers(conn: Connection, *, session_id: str, aggregator_id: str | None = None,
                limit: int = 10**9, offset: int = 0) -> Page:
    query = select(FlexOfferRow).where(FlexOfferRow.session_id == session_id)
    if aggregator_id is not None:
        query = query.where(FlexOfferRow.aggregator_id == aggregator_id)
    return _page(conn, query, (FlexOfferRow.submitted_at, FlexOfferRow.offer_id), limit, offset)


def latest_outcome(conn: Connection, session_id: str, stage: str) -> Any | None:
    """The session's newest outcome of a stage (market, technical or validated)."""
    return conn.execute(
        select(OutcomeRow).where(OutcomeRow.session_id == session_id, OutcomeRow.stage == stage)
        .order_by(OutcomeRow.published_at.desc(), OutcomeRow.event_id.desc()).limit(1)
    ).first()


def get_outcome(conn: Connection, event_id: str) -> Any | None:
    return conn.execute(select(OutcomeRow).where(OutcomeRow.event_id == event_id)).first()


def awarded_capacity(conn: Connection, session_id: str) -> dict[tuple[str, str, str, int], float]:
    """What a session's newest outcome awarded each PoD per (direction, quantity type, MTU):
    the validated outcome if there is one, else the market outcome."""
    outcome = latest_outcome(conn, session_id, "validated") or latest_outcome(
        conn, session_id, "market")
    if outcome is None:
        return {}
    rows = conn.execute(
        select(AwardRow.pod_id, FlexOfferRow.direction, FlexOfferRow.quantity_type,
               AwardRow.mtu, func.sum(AwardRow.quantity))
        .join(FlexOfferRow, FlexOfferRow.offer_id == AwardRow.offer_id)
        .where(AwardRow.event_id == outcome.event_id)
        .group_by(AwardRow.pod_id, FlexOfferRow.direction, FlexOfferRow.quantity_type,
                  AwardRow.mtu))
    return {(pod, direction, qtype, mtu): float(total)
            for pod, direction, qtype, mtu, total in rows}


def session_participants(conn: Connection, session_id: str) -> set[str]:
    """Everyone who requested or offered in the session."""
    requesters = conn.scalars(select(FlexRequestRow.requester_id).where(
        FlexRequestRow.session_id == session_id))
    aggregators = conn.scalars(select(FlexOfferRow.aggregator_id).where(
        FlexOfferRow.session_id == session_id))
    return set(requesters) | set(aggregators)


def get_idempotency_key(conn: Connection, actor: str, key: str) -> Any | None:
    return conn.execute(select(IdempotencyKeyRow).where(
        IdempotencyKeyRow.actor == actor, IdempotencyKeyRow.key == key)).first()


def validated_activations(conn: Connection, session_ids: Iterable[str],
                          mtus: Iterable[int]) -> list[Any]:
    """Accepted quantities of the sessions' newest validated outcomes in ``mtus``, with
    their offers' direction and quantity type (what dispatch turns into setpoints)."""
    wanted = list(mtus)
    rows: list[Any] = []
    for session_id in session_ids:
        outcome = latest_outcome(conn, session_id, "validated")
        if outcome is None:
            continue
        rows += conn.execute(
            select(AwardRow.aggregator_id, AwardRow.pod_id, AwardRow.mtu,
                   FlexOfferRow.direction, FlexOfferRow.quantity_type, AwardRow.quantity)
            .join(FlexOfferRow, FlexOfferRow.offer_id == AwardRow.offer_id)
            .where(AwardRow.event_id == outcome.event_id, AwardRow.mtu.in_(wanted),
                   AwardRow.quantity > 0))
    return rows
