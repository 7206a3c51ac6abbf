"""USEF/UFTP over REST (docs/uftp.md): a FlexOffer or FlexRequest posted as XML enters the
market by the same write path as a native offer or request; stored offers and requests,
and the FlexOrders of a validated outcome, are read back as UFTP XML.

A message that cannot be read (not XML, a field the XSDs refuse) or is not the caller's
is refused with the API's one error body, like any request: there is no message to
answer, or no sender to trust. Once read and its sender verified, the market's verdict is
a UFTP response — Accepted, or Rejected with why — with the HTTP status a native
submission would get.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Connection

from ledger.auth.access import OWN, Principal
from ledger.auth.roles import Role
from ledger.errors import FlexmarketError, NotFound, Rejected
from ledger.http import errors
from ledger.settings import Settings
from ledger.store.queries import utc
from market.api.deps import (
    ClockDep,
    DbConnection,
    MarketReader,
    OfferReader,
    SessionIdPath,
    SettingsDep,
    SubmitterDep,
    allowed,
    calendar_session,
)
from market.api.submission import Submitter, accept
from market.api.v1 import offers, outcomes, requests
from market.api.v1.schemas import FlexOfferPublic, SubmissionAccepted
from market.domain.calendar import SessionSlot
from market.domain.events import (
    KEPT_XML_CHARS,
    FlexOfferSubmitted,
    FlexRequestSubmitted,
    UftpFlexOfferReceived,
    UftpFlexRequestReceived,
    ValidatedAward,
)
from market.store import queries, uftp_queries
from market.uftp.codec import canonical, read_message, write_message
from market.uftp.identity import Directory, check_sender
from market.uftp.inbound import (
    check_message,
    day_session,
    offer_submission,
    request_location,
    request_submission,
)
from market.uftp.messages import (
    FlexOffer,
    FlexOfferResponse,
    FlexOrders,
    FlexRequest,
)
from market.uftp.outbound import flex_offer_of, flex_order_of, flex_request_of, response_to

router = APIRouter(tags=["uftp"])
# As the native routes: an aggregator offers, a system operator requests, each as itself.
UftpSender = allowed(aggregator=OWN, dso=OWN, tso=OWN)
ParticipantIdPath = Annotated[str, Path(min_length=1, max_length=100,
                                        pattern=r"^[A-Za-z0-9._-]+$")]
_ERROR_BODY = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}


class XmlResponse(JSONResponse):
    """An XML answer, rendered as given. A JSONResponse only to FastAPI's OpenAPI
    generator, which otherwise documents a non-JSON answer as a bare string, not as the
    message model the route declares."""

    media_type = "application/xml"

    def render(self, content: Any) -> bytes:
        return content.encode("utf-8") if isinstance(content, str) else bytes(content)


def _xml_errors(*statuses: int, verdicts: tuple[int, ...] = ()) -> dict[int | str, Any]:
    """The routes' error answers: the error body (JSON), and for ``verdicts`` also the
    UFTP response that rejects a message read and verified."""
    verdict = {"schema": {"$ref": "#/components/schemas/FlexOfferResponse"}}
    return {status: {"description": spec["description"],
                     "content": {"application/json": _ERROR_BODY,
                                 **({"application/xml": verdict} if status in verdicts
                                    else {})}}
            for status, spec in errors(*statuses).items()}


def _directory(settings: Settings) -> Directory:
    return Directory(settings.uftp_domain, settings.uftp_domains)


_MESSAGE_BODY = Body(media_type="application/xml", description=(
    "A USEF FlexOffer (from an aggregator) or FlexRequest (from a DSO; a TSO sends as "
    "USEF's DSO), as the XSDs of WiseGRID D4.2 Annex 10.9 define them"))


@router.post(
    "/v1/uftp/messages", status_code=201, response_class=XmlResponse,
    responses={201: {"model": FlexOfferResponse, "description": "Accepted: a "
                     "FlexOfferResponse or FlexRequestResponse; Location is the offer's or "
                     "request's UFTP form"},
               200: {"model": FlexOfferResponse,
                     "description": "Accepted before (the same MessageID)"},
               **_xml_errors(403, 404, 409, verdicts=(403, 404, 409, 422))})
def receive_message(conn: DbConnection, settings: SettingsDep, clock: ClockDep,
                    submitter: SubmitterDep, caller: UftpSender,
                    body: Annotated[bytes, _MESSAGE_BODY] = b"") -> Response:
    """Take a UFTP FlexOffer or FlexRequest: it becomes an offer or a request of its
    Period's open session, checked as a native one is, once per MessageID.

    Answers the FlexOfferResponse or FlexRequestResponse (201, or 200 for a MessageID
    taken before). The message is kept as received: ``GET /v1/uftp/offers/{id}`` or
    ``/v1/uftp/requests/{id}`` gives it back.
    """
    message = read_message(body)
    check_sender(message, caller.participant_id, caller.role, _directory(settings))
    zone = ZoneInfo(settings.time_zone)
    now = clock.now()
    try:
        check_message(message, settings.time_zone, now)
        slot = day_session(message.period, zone, now)
        if isinstance(message, FlexOffer):
            status, answer, location = _take_offer(message, body, slot, settings,
                                                   submitter, caller)
        else:
            status, answer, location = _take_request(message, body, slot, conn, settings,
                                                     submitter, caller)
    except FlexmarketError as exc:
        verdict = response_to(message, accepted=False, at=now, zone=zone,
                              text=f"{exc.code} ({exc.field}): {exc.message}")
        return XmlResponse(write_message(verdict), status_code=exc.http_status)
    verdict = response_to(message, accepted=True, at=now, zone=zone,
                          text=f"{answer.code} as {answer.id} in session {answer.session_id} "
                               f"(event {answer.event_id})")
    return XmlResponse(write_message(verdict), status_code=status,
                       headers={"Location": location})


def _keep(submitter: Submitter, caller: Principal, native: BaseModel,
          kept: UftpFlexOfferReceived | UftpFlexRequestReceived) -> None:
    """Publish the message kept beside its submission ``native``, once per MessageID: the
    first one kept stays, as a re-sent message is the same message. After the submission,
    so a failure here is a 503 whose retry finds the submission taken and keeps the
    message then."""
    accept(submitter, Response(), caller, actor=caller.participant_id,
           key=f"uftp:{kept.message_id}:kept", route=f"uftp-kept:{kept.session_id}",
           body=native, payload_of=lambda conn, now: kept)


def _keepable(body: bytes, message: FlexOffer | FlexRequest) -> str:
    """The message in the canonical form it is kept in, checked before anything is
    written: canonical XML escapes what a sender may leave raw, so it can outgrow what an
    event holds even when the body did not.

    Raises:
        Rejected: ``UFTP_TOO_LARGE`` on ``body``.
    """
    xml = canonical(body)
    if len(xml) > KEPT_XML_CHARS:
        raise Rejected(f"the {type(message).__name__} is {len(xml):,} characters in canonical "
                       f"XML; the market keeps at most {KEPT_XML_CHARS:,}",
                       code="UFTP_TOO_LARGE", field="body")
    return xml


def _take_offer(message: FlexOffer, body: bytes, slot: SessionSlot, settings: Settings,
                submitter: Submitter, caller: Principal) -> tuple[int, SubmissionAccepted, str]:
    native = offer_submission(message, caller.participant_id, slot, ZoneInfo(settings.time_zone))
    xml = _keepable(body, message)
    written = Response()
    answer = offers.submit_offer(native, slot, settings, submitter, written, caller,
                                 idempotency_key=f"uftp:{message.metadata.message_id}")
    _keep(submitter, caller, native, UftpFlexOfferReceived(
        session_id=slot.session_id, offer_id=answer.id, sender_id=caller.participant_id,
        message_id=message.metadata.message_id, xml=xml))
    return written.status_code, answer, f"/v1/uftp/offers/{answer.id}"


def _take_request(message: FlexRequest, body: bytes, slot: SessionSlot, conn: Connection,
                  settings: Settings, submitter: Submitter,
                  caller: Principal) -> tuple[int, SubmissionAccepted, str]:
    role = "TSO" if caller.role is Role.TSO else "DSO"
    location = request_location(message)
    eligible = [] if role == "TSO" else uftp_queries.pods_under(conn, location)
    native = request_submission(message, caller.participant_id, role, slot,
                                ZoneInfo(settings.time_zone), eligible)
    xml = _keepable(body, message)
    written = Response()
    answer = requests.submit_request(native, slot, settings, submitter, written, caller,
                                     idempotency_key=f"uftp:{message.metadata.message_id}")
    _keep(submitter, caller, native, UftpFlexRequestReceived(
        session_id=slot.session_id, request_id=answer.id, sender_id=caller.participant_id,
        message_id=message.metadata.message_id, xml=xml))
    return written.status_code, answer, f"/v1/uftp/requests/{answer.id}"


def _made_offer(settings: Settings, offer: FlexOfferPublic) -> FlexOffer:
    """The FlexOffer of an offer that did not arrive as one."""
    native = FlexOfferSubmitted.model_validate(offer.model_dump(
        exclude={"withdrawn", "submitted_at", "event_id"}))
    return flex_offer_of(native, offer.event_id, offer.submitted_at,
                         calendar_session(offer.session_id, settings),
                         ZoneInfo(settings.time_zone), _directory(settings))


@router.get("/v1/uftp/offers/{offer_id}", response_class=XmlResponse,
            responses={200: {"model": FlexOffer, "description": "The offer as a FlexOffer"},
                       **_xml_errors(404, 409)})
def export_offer(offer_id: offers.OfferIdPath, conn: DbConnection, settings: SettingsDep,
                 caller: OfferReader) -> Response:
    """An offer as a UFTP FlexOffer: as received if it came as one, else made from the
    offer (409 for what UFTP cannot say: reactive power, a flexible block, several price
    steps in one MTU)."""
    offer = offers.get_offer(offer_id, conn, caller)
    kept = uftp_queries.kept_offer_message(conn, offer.session_id, offer_id)
    return XmlResponse(write_message(_made_offer(settings, offer)) if kept is None else kept)


@router.get("/v1/uftp/requests/{request_id}", response_class=XmlResponse,
            responses={200: {"model": FlexRequest, "description": "The request as a "
                             "FlexRequest"}, **_xml_errors(404, 409)})
def export_request(request_id: requests.RequestIdPath, conn: DbConnection,
                   settings: SettingsDep, caller: MarketReader) -> Response:
    """A request as a UFTP FlexRequest: as received if it came as one, else made from the
    request (409 for reactive power, which UFTP's Power cannot say)."""
    public = requests.get_request(request_id, conn, caller)
    kept = uftp_queries.kept_request_message(conn, public.session_id, request_id)
    if kept is not None:
        return XmlResponse(kept)
    native = FlexRequestSubmitted.model_validate(public.model_dump(
        exclude={"withdrawn", "submitted_at", "event_id"}))
    return XmlResponse(write_message(flex_request_of(
        native, public.event_id, public.submitted_at,
        calendar_session(public.session_id, settings), ZoneInfo(settings.time_zone),
        _directory(settings))))


@router.get("/v1/uftp/sessions/{session_id}/orders/{participant_id}",
            response_class=XmlResponse,
            responses={200: {"model": FlexOrders, "description": "The participant's "
                             "FlexOrders, in a FlexOrders envelope"},
                       **_xml_errors(404, 409)})
def export_orders(session_id: SessionIdPath, participant_id: ParticipantIdPath,
                  conn: DbConnection, settings: SettingsDep,
                  caller: outcomes.ResultsReader) -> Response:
    """The FlexOrders of a session's validated outcome that a participant sent (a system
    operator) or received (an aggregator): one per offer and requester with an accepted
    quantity, its OrderReference ``<validated outcome event>/<award ids>``. An offer
    taken as offered is ordered with its PTUs verbatim; one taken in part lists the PTUs
    as awarded, which USEF cannot order (docs/uftp.md)."""
    results = outcomes.get_participant_results(session_id, conn, caller, participant_id)
    outcome = queries.get_outcome(conn, results.validated_outcome_event_id)
    slot = calendar_session(session_id, settings)
    zone, directory = ZoneInfo(settings.time_zone), _directory(settings)
    groups: dict[tuple[str, str], list[ValidatedAward]] = defaultdict(list)
    for award in results.awards:
        if award.quantity > 0:
            groups[(award.offer_id, award.requester_id)].append(award)
    orders = []
    for (offer_id, requester_id), awards in sorted(groups.items()):
        row = queries.get_offer(conn, offer_id)
        if row is None:
            raise NotFound(f"the offer {offer_id} of award {awards[0].award_id} is not in "
                           "the read models yet", code="UNKNOWN_OFFER", field="session_id")
        kept = uftp_queries.kept_offer_message(conn, row.session_id, offer_id)
        offer = (_made_offer(settings, offers.offer_public(row)) if kept is None
                 else FlexOffer.model_validate(read_message(kept.encode())))
        orders.append(flex_order_of(
            offer, awards, buyer_domain=directory.domain_of(requester_id),
            reference=f"{results.validated_outcome_event_id}/"
                      f"{'+'.join(a.award_id for a in awards)}",
            at=utc(outcome.published_at), expires=slot.delivery_end, zone=zone))
    return XmlResponse(write_message(FlexOrders(orders=tuple(orders))))
