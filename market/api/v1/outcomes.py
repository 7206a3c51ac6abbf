"""A session's outcomes: market (cleared), technical (the DSO's validation) and validated
(final clearing), and the validated outcome per participant (FR_MP_FS_4, FR_MP_FS_5)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from ledger.auth.access import ANY, OWN
from ledger.errors import NotFound
from market.api.deps import DbConnection, SessionIdPath, allowed, errors
from market.api.v1.schemas import OutcomePublic, ParticipantResultsPublic
from market.domain.events import ValidatedOutcomePublished
from market.domain.final_clearing import participant_results
from market.store import queries

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=["outcomes"])
Stage = Literal["market", "technical", "validated"]
# A whole outcome names every aggregator's awards: the system operators and the market's
# admin read it; each participant reads its own results.
OutcomeReader = allowed(dso=ANY, tso=ANY, market_admin=ANY)
ResultsReader = allowed(dso=OWN, tso=OWN, aggregator=OWN, market_admin=ANY)


@router.get("/outcomes/{stage}", response_model=OutcomePublic, responses=errors(404))
def get_outcome(session_id: SessionIdPath, stage: Stage, conn: DbConnection,
                caller: OutcomeReader) -> OutcomePublic:
    """The session's newest outcome of a stage, with the event's payload as published."""
    row = queries.latest_outcome(conn, session_id, stage)
    if row is None:
        raise NotFound(f"session {session_id} has no {stage} outcome yet",
                       code="NO_OUTCOME_YET", field="stage")
    return OutcomePublic.model_validate(row, from_attributes=True)


@router.get("/results/{participant_id}", response_model=ParticipantResultsPublic,
            responses=errors(404))
def get_participant_results(
    session_id: SessionIdPath, conn: DbConnection, caller: ResultsReader,
    participant_id: Annotated[str, Path(min_length=1, max_length=100,
                                        pattern=r"^[A-Za-z0-9._-]+$")],
) -> ParticipantResultsPublic:
    """The validated outcome as one participant sees it: the awards it requested or
    provided (the same filter as its ``results.<participant>`` topic)."""
    caller.require_own(participant_id, field="participant_id")
    row = queries.latest_outcome(conn, session_id, "validated")
    if row is None:
        raise NotFound(f"session {session_id} has no validated outcome yet",
                       code="NO_OUTCOME_YET", field="session_id")
    validated = ValidatedOutcomePublished.model_validate(row.payload)
    mine = participant_results(validated, row.event_id, [participant_id])
    found = next(r for r in mine if r.participant_id == participant_id)
    return ParticipantResultsPublic.model_validate(found.model_dump())
