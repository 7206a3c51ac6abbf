"""Flexibility offers of aggregators (FR_MP_FS_1 step 2): submit, withdraw, read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection

from ledger.catalog import new_event
from ledger.envelope import Event
from ledger.errors import Forbidden, NotFound
from market.api.deps import (
    Aggregator,
    DbConnection,
    IdempotencyKey,
    OfferReader,
    Session,
    SettingsDep,
    SubmitterDep,
    calendar_session,
    errors,
    write_responses,
)
from market.api.v1.schemas import (
    FlexOfferCreate,
    FlexOfferPage,
    FlexOfferPublic,
    OfferWithdrawal,
    SubmissionAccepted,
)
from market.domain.events import FlexOfferSubmitted, FlexOfferWithdrawn
from market.domain.submissions import check_offer, check_withdrawal, player_service_id
from market.store import queries

router = APIRouter(tags=["offers"])
OfferIdPath = Annotated[str, Path(min_length=1, max_length=100,
                                  pattern=r"^[A-Za-z0-9._:-]+$")]


@router.post("/v1/sessions/{session_id}/offers", status_code=201,
             response_model=SubmissionAccepted, responses=write_responses(403, 404, 409))
def submit_offer(body: FlexOfferCreate, session: Session, settings: SettingsDep,
                 submitter: SubmitterDep, response: Response, caller: Aggregator,
                 idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Submit an offer for one of the aggregator's PoDs to an open session.

    Either price steps (quantity and price per MTU, several steps per MTU allowed; each
    step divisible or, with ``divisible: false``, all-or-nothing) or one flexible block.
    The PoD's max flexibility bounds each MTU. Answers 201 with the event id, or 200 when
    this ``Idempotency-Key`` was accepted before.
    """
    caller.require_own(body.aggregator_id, field="aggregator_id")
    zone = ZoneInfo(settings.time_zone)

    def build(conn: Connection, event_id: UUID, now: datetime) -> tuple[Event,
                                                                         SubmissionAccepted]:
        payload = FlexOfferSubmitted(
            offer_id=str(event_id), session_id=session.session_id,
            player_service_id=player_service_id(body.aggregator_id, body.pod_id, session, zone),
            **body.model_dump(exclude={"market_type"}))
        pod = queries.get_pod_views(conn, [body.pod_id]).get(body.pod_id)
        check_offer(payload, session, pod, now, body.market_type)
        event = new_event(payload, actor=body.aggregator_id, occurred_at=now,
                          event_id=event_id)
        return event, SubmissionAccepted(
            code="ACCEPTED", event_id=str(event_id), session_id=session.session_id,
            id=payload.offer_id, player_service_id=payload.player_service_id)

    written = submitter.submit(actor=body.aggregator_id, idempotency_key=idempotency_key,
                               route=f"offers:{session.session_id}", body=body, build=build)
    response.status_code = written.status
    return written.body


@router.post("/v1/offers/{offer_id}/withdrawal", status_code=201,
             response_model=SubmissionAccepted, responses=write_responses(403, 404, 409))
def withdraw_offer(offer_id: OfferIdPath, body: OfferWithdrawal, settings: SettingsDep,
                   submitter: SubmitterDep, response: Response, caller: Aggregator,
                   idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Withdraw an offer before its session's gate closes; only its aggregator may."""
    caller.require_own(body.aggregator_id, field="aggregator_id")

    def build(conn: Connection, event_id: UUID, now: datetime) -> tuple[Event,
                                                                         SubmissionAccepted]:
        row = queries.get_offer(conn, offer_id)
        if row is None:
            raise NotFound(f"no offer {offer_id}", code="UNKNOWN_OFFER", field="offer_id")
        if row.aggregator_id != body.aggregator_id:
            raise Forbidden("only the offering aggregator may withdraw an offer",
                            code="NOT_THE_AGGREGATOR", field="aggregator_id")
        check_withdrawal(calendar_session(row.session_id, settings), row.withdrawn, now,
                         "offer")
        payload = FlexOfferWithdrawn(offer_id=offer_id, session_id=row.session_id,
                                     aggregator_id=body.aggregator_id)
        event = new_event(payload, actor=body.aggregator_id, occurred_at=now,
                          event_id=event_id)
        return event, SubmissionAccepted(code="ACCEPTED", event_id=str(event_id),
                                         session_id=row.session_id, id=offer_id)

    written = submitter.submit(actor=body.aggregator_id, idempotency_key=idempotency_key,
                               route=f"withdraw-offer:{offer_id}", body=body, build=build)
    response.status_code = written.status
    return written.body


@router.get("/v1/sessions/{session_id}/offers", response_model=FlexOfferPage,
            responses=errors(404))
def list_session_offers(
    session: Session, conn: DbConnection, caller: OfferReader,
    aggregator_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> FlexOfferPage:
    """A session's offers, oldest first; filter by aggregator (an aggregator sees its
    own only)."""
    total, rows = queries.list_offers(conn, session_id=session.session_id,
                                      aggregator_id=caller.own_filter(
                                          aggregator_id, field="aggregator_id"), limit=limit,
                                      offset=offset)
    return FlexOfferPage(items=[offer_public(r) for r in rows], total=total)


@router.get("/v1/offers/{offer_id}", response_model=FlexOfferPublic, responses=errors(404))
def get_offer(offer_id: OfferIdPath, conn: DbConnection,
              caller: OfferReader) -> FlexOfferPublic:
    """One offer, as projected from its events."""
    row = queries.get_offer(conn, offer_id)
    if row is None:
        raise NotFound(f"no offer {offer_id}", code="UNKNOWN_OFFER", field="offer_id")
    caller.require_own(row.aggregator_id, field="offer_id")
    return offer_public(row)


def offer_public(row: Any) -> FlexOfferPublic:
    return FlexOfferPublic(**{k: getattr(row, k) for k in FlexOfferPublic.model_fields})
