"""Flexibility requests of system operators (FR_MP_FS_1 step 1): submit, withdraw, read."""

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
    DbConnection,
    IdempotencyKey,
    MarketReader,
    Session,
    SettingsDep,
    SubmitterDep,
    SystemOperator,
    calendar_session,
    errors,
    write_responses,
)
from market.api.v1.schemas import (
    FlexRequestCreate,
    FlexRequestPage,
    FlexRequestPublic,
    RequestWithdrawal,
    SubmissionAccepted,
)
from market.domain.events import FlexRequestSubmitted, FlexRequestWithdrawn
from market.domain.submissions import (
    check_request,
    check_withdrawal,
    player_service_id,
)
from market.store import queries

router = APIRouter(tags=["requests"])
RequestIdPath = Annotated[str, Path(min_length=1, max_length=100,
                                    pattern=r"^[A-Za-z0-9._:-]+$")]


@router.post("/v1/sessions/{session_id}/requests", status_code=201,
             response_model=SubmissionAccepted,
             responses=write_responses(404, 409))
def submit_request(body: FlexRequestCreate, session: Session, settings: SettingsDep,
                   submitter: SubmitterDep, response: Response, caller: SystemOperator,
                   idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Submit a DSO or TSO flexibility request to an open session.

    A DSO request names a grid point and the PoDs under it that may serve it; a TSO
    request names a PoM. Answers 201 with the event id, or 200 when this
    ``Idempotency-Key`` was accepted before.
    """
    caller.require_own(body.requester_id, field="requester_id")
    if body.role.lower() != caller.role:
        raise Forbidden(f"{caller.participant_id} is a {caller.role}: it requests as one",
                        code="NOT_YOUR_ROLE", field="role")
    zone = ZoneInfo(settings.time_zone)

    def build(conn: Connection, event_id: UUID, now: datetime) -> tuple[Event,
                                                                         SubmissionAccepted]:
        payload = FlexRequestSubmitted(
            request_id=str(event_id), session_id=session.session_id,
            player_service_id=player_service_id(body.requester_id, body.location.id,
                                                session, zone),
            **body.model_dump(exclude={"market_type"}))
        pods = queries.get_pod_views(conn, body.eligible_pods)
        pom = body.location.kind == "pom" and queries.pom_known(conn, body.location.id)
        check_request(payload, session, pods, pom, now, body.market_type)
        event = new_event(payload, actor=body.requester_id, occurred_at=now, event_id=event_id)
        return event, SubmissionAccepted(
            code="ACCEPTED", event_id=str(event_id), session_id=session.session_id,
            id=payload.request_id, player_service_id=payload.player_service_id)

    written = submitter.submit(actor=body.requester_id, idempotency_key=idempotency_key,
                               route=f"requests:{session.session_id}", body=body, build=build)
    response.status_code = written.status
    return written.body


@router.post("/v1/requests/{request_id}/withdrawal", status_code=201,
             response_model=SubmissionAccepted,
             responses=write_responses(403, 404, 409))
def withdraw_request(request_id: RequestIdPath, body: RequestWithdrawal,
                     settings: SettingsDep, submitter: SubmitterDep, response: Response,
                     caller: SystemOperator,
                     idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Withdraw a request before its session's gate closes; only its requester may."""
    caller.require_own(body.requester_id, field="requester_id")

    def build(conn: Connection, event_id: UUID, now: datetime) -> tuple[Event,
                                                                         SubmissionAccepted]:
        row = queries.get_request(conn, request_id)
        if row is None:
            raise NotFound(f"no request {request_id}", code="UNKNOWN_REQUEST",
                           field="request_id")
        if row.requester_id != body.requester_id:
            raise Forbidden("only the requester may withdraw a request",
                            code="NOT_THE_REQUESTER", field="requester_id")
        check_withdrawal(calendar_session(row.session_id, settings), row.withdrawn, now,
                         "request")
        payload = FlexRequestWithdrawn(request_id=request_id, session_id=row.session_id,
                                       requester_id=body.requester_id)
        event = new_event(payload, actor=body.requester_id, occurred_at=now, event_id=event_id)
        return event, SubmissionAccepted(code="ACCEPTED", event_id=str(event_id),
                                         session_id=row.session_id, id=request_id)

    written = submitter.submit(actor=body.requester_id, idempotency_key=idempotency_key,
                               route=f"withdraw-request:{request_id}", body=body, build=build)
    response.status_code = written.status
    return written.body


@router.get("/v1/sessions/{session_id}/requests", response_model=FlexRequestPage,
            responses=errors(404))
def list_session_requests(
    session: Session, conn: DbConnection, caller: MarketReader,
    requester_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> FlexRequestPage:
    """A session's requests, oldest first; filter by requester."""
    total, rows = queries.list_requests(conn, session_id=session.session_id,
                                        requester_id=requester_id, limit=limit,
                                        offset=offset)
    return FlexRequestPage(items=[request_public(r) for r in rows], total=total)


@router.get("/v1/requests/{request_id}", response_model=FlexRequestPublic,
            responses=errors(404))
def get_request(request_id: RequestIdPath, conn: DbConnection,
                caller: MarketReader) -> FlexRequestPublic:
    """One request, as projected from its events."""
    row = queries.get_request(conn, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}", code="UNKNOWN_REQUEST", field="request_id")
    return request_public(row)


def request_public(row: Any) -> FlexRequestPublic:
    data = {k: getattr(row, k) for k in FlexRequestPublic.model_fields if k != "location"}
    return FlexRequestPublic(**data, location={"kind": row.location_kind, "id": row.location_id})
