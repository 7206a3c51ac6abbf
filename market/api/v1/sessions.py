"""Sessions: the calendar of a delivery day, each session's state and gate times, and
which outcomes it has (FR_MP_I_1)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from ledger.auth.access import AnyParticipant
from market.api.deps import ClockDep, DbConnection, Session, SettingsDep, errors
from market.api.v1.schemas import OutcomeRefs, SessionPage, SessionPublic
from market.domain.calendar import FIRST_DAY, LAST_DAY, SessionSlot, day_sessions
from market.domain.clock import Clock
from market.store.queries import latest_outcome

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def session_public(slot: SessionSlot, clock: Clock, conn: Connection) -> SessionPublic:
    refs = {stage: (row.event_id if (row := latest_outcome(conn, slot.session_id, stage))
                    else None) for stage in ("market", "technical", "validated")}
    return SessionPublic(
        session_id=slot.session_id, market_type=slot.kind.value,
        delivery_day=slot.delivery_day, window=slot.window, first_mtu=slot.first_mtu,
        mtu_count=slot.mtu_count, delivery_start=slot.delivery_start,
        delivery_end=slot.delivery_end, opens_at=slot.opens_at,
        gate_closes_at=slot.gate_closes_at, outcome_due_at=slot.outcome_due_at,
        setpoints_at=slot.setpoints_at, state=slot.state_at(clock.now()).value,
        outcomes=OutcomeRefs(**refs))


@router.get("", response_model=SessionPage, responses=errors())
def list_sessions(
    clock: ClockDep, settings: SettingsDep, conn: DbConnection, caller: AnyParticipant,
    delivery_day: Annotated[date | None, Query(
        description="local delivery day; default: today and tomorrow on the market's clock",
        ge=FIRST_DAY, le=LAST_DAY)] = None,
) -> SessionPage:
    """The day-ahead and six real-time sessions of a delivery day, in gate order."""
    zone = ZoneInfo(settings.time_zone)
    today = clock.now().astimezone(zone).date()
    days = [delivery_day] if delivery_day else [today, today + timedelta(days=1)]
    slots = sorted((s for day in days for s in day_sessions(day, zone)),
                   key=lambda s: (s.gate_closes_at, s.session_id))
    items = [session_public(s, clock, conn) for s in slots]
    return SessionPage(items=items, count=len(items))


@router.get("/{session_id}", response_model=SessionPublic, responses=errors(404))
def get_session(session: Session, clock: ClockDep, conn: DbConnection,
                caller: AnyParticipant) -> SessionPublic:
    """One session: its delivery window, gate times, state now, and outcomes so far."""
    return session_public(session, clock, conn)
