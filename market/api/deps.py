"""What handlers depend on, as ``Annotated`` aliases (STYLE.md "API"), and the error
answers every route declares in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Header, Path, Request
from sqlalchemy import Connection, Engine

from ledger.auth.access import ANY, OWN, Principal, allowed
from ledger.auth.roles import Role
from ledger.errors import NotFound
from ledger.http import errors
from ledger.settings import Settings
from market.api.submission import Submitter
from market.api.v1.schemas import SubmissionAccepted
from market.domain.calendar import SessionSlot, find_session
from market.domain.clock import Clock


def write_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a write: 200 for a repeated key, and its errors."""
    return {200: {"model": SubmissionAccepted,
                  "description": "Already accepted under this Idempotency-Key"},
            **errors(*statuses)}


def _connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


def _clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _submitter(request: Request) -> Submitter:
    return request.app.state.submitter  # type: ignore[no-any-return]


DbConnection = Annotated[Connection, Depends(_connection)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SubmitterDep = Annotated[Submitter, Depends(_submitter)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
    description="makes a retried write safe: the same key and body give the same event")]
SessionIdPath = Annotated[str, Path(min_length=1, max_length=40,
                                    pattern=r"^(DA|RT)-\d{4}-\d{2}-\d{2}(-[0-5])?$")]


def calendar_session(session_id: str, settings: Settings) -> SessionSlot:
    """The calendar's session with this id.

    Raises:
        NotFound: ``UNKNOWN_SESSION``.
    """
    slot = find_session(session_id, ZoneInfo(settings.time_zone))
    if slot is None:
        raise NotFound(f"no session {session_id} in the calendar", code="UNKNOWN_SESSION",
                       field="session_id")
    return slot


def _session(session_id: SessionIdPath, settings: SettingsDep) -> SessionSlot:
    return calendar_session(session_id, settings)


Session = Annotated[SessionSlot, Depends(_session)]


# The routes' access, by what they serve (the README's table in "Security and failure
# behaviour").
MarketReader = allowed(dso=ANY, tso=ANY, aggregator=ANY, market_admin=ANY)
SystemOperator = allowed(dso=OWN, tso=OWN)
Aggregator = allowed(aggregator=OWN)
OfferReader = allowed(aggregator=OWN, dso=ANY, tso=ANY, market_admin=ANY)
PodReader = allowed(aggregator=OWN, customer=OWN, dso=ANY, market_admin=ANY)
AccountHolder = allowed(dso=OWN, tso=OWN, aggregator=OWN, customer=OWN, market_admin=ANY)
GridOperator = allowed(dso=ANY, market_admin=ANY)


def require_pod_reader(who: Principal, pod: Any, *, field: str = "pod_id") -> None:
    """Let ``who`` read PoD ``pod``'s data: its aggregator, its customer, or a role that
    reads any PoD (``pod`` is ``None`` for an unknown PoD, which only the latter learn).

    Raises:
        Forbidden: ``NOT_YOURS``.
    """
    if pod is None:
        who.require_own(None, field=field)
    else:
        who.require_own(pod.customer_id if who.role is Role.CUSTOMER else pod.aggregator_id,
                        field=field)
