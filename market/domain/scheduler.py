"""When sessions open and close: the calendar's gate times turned into events (Platone
FR_MP_I_1 step 4, FR_MP_FS_1 step 4).

The scheduler keeps no state of its own: what it already announced is read back from the
``sessions`` topic, and each announcement's id and time derive from the session and the
transition, so announcing twice (after a crash) makes the same event, which consumers
keep once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from market.domain.calendar import SessionSlot, day_sessions
from market.domain.events import SessionClosed, SessionOpened

SCHEDULER_ACTOR = "market"
OPENED, CLOSED = "SessionOpened", "SessionClosed"


@dataclass(frozen=True)
class Announced:
    """What the ``sessions`` topic already holds: (session id, event type) pairs, and the
    latest transition time among them (where the scheduler carries on from)."""

    transitions: frozenset[tuple[str, str]]
    latest: datetime | None

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Announced:
        pairs, latest = set(), None
        for event in events:
            if event.type in (OPENED, CLOSED):
                pairs.add((event.key, event.type))
                latest = event.occurred_at if latest is None else max(latest, event.occurred_at)
        return cls(frozenset(pairs), latest)


def due_announcements(now: datetime, announced: Announced, started_at: datetime,
                      zone: ZoneInfo) -> list[Event]:
    """Session transitions that are due at ``now`` and not yet on the topic, oldest first.

    On a topic with no announcements the scheduler starts from ``started_at``: sessions
    open then are announced open, and earlier closures are not made up after the fact.
    Otherwise it carries on from the latest announcement, so a scheduler that was down
    announces what it missed.
    """
    since = announced.latest or started_at
    local_today = now.astimezone(zone).date()
    first_day = min(since.astimezone(zone).date(), local_today) - timedelta(days=1)
    days = (local_today - first_day).days + 3
    due: list[tuple[datetime, Event]] = []
    for offset in range(days):
        for slot in day_sessions(first_day + timedelta(days=offset), zone):
            due.extend(_transitions(slot, now, since, announced.transitions))
    return [event for _, event in sorted(due, key=lambda pair: (pair[0], pair[1].type))]


def _transitions(slot: SessionSlot, now: datetime, since: datetime,
                 done: frozenset[tuple[str, str]]) -> list[tuple[datetime, Event]]:
    out = []
    opened_due = slot.opens_at <= now and (slot.opens_at >= since or slot.gate_closes_at > since)
    if opened_due and (slot.session_id, OPENED) not in done:
        # A session already open when the scheduler starts is announced as of the start,
        # so the latest announcement never lies before it (it is where a restart carries
        # on from, and transitions before the start are not made up).
        announced_at = max(slot.opens_at, since)
        out.append((announced_at, _announce(SessionOpened(
            session_id=slot.session_id, market_type=slot.kind.value,
            delivery_day=slot.delivery_day, first_mtu=slot.first_mtu,
            mtu_count=slot.mtu_count, opens_at=slot.opens_at,
            gate_closes_at=slot.gate_closes_at), slot.opens_at, announced_at, OPENED)))
    closed_due = since <= slot.gate_closes_at <= now
    if closed_due and (slot.session_id, CLOSED) not in done:
        out.append((slot.gate_closes_at, _announce(SessionClosed(
            session_id=slot.session_id, market_type=slot.kind.value,
            delivery_day=slot.delivery_day, gate_closes_at=slot.gate_closes_at),
            slot.gate_closes_at, slot.gate_closes_at, CLOSED)))
    return out


def _announce(payload: SessionOpened | SessionClosed, scheduled: datetime,
              announced_at: datetime, kind: str) -> Event:
    return new_event(payload, actor=SCHEDULER_ACTOR, occurred_at=announced_at,
                     event_id=derived_event_id(scheduled, kind, payload.session_id))
