"""The session scheduler announces each gate once, at the calendar's times (FR_MP_I_1,
FR_MP_FS_1 step 4), and carries on from the log after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from market.domain.calendar import day_sessions
from market.domain.clock import ManualClock, SimulatedClock
from market.domain.scheduler import Announced, due_announcements
from tests.builders import DA_CLOSED_AT, DA_OPEN_AT, DA_SESSION, DELIVERY_DAY

ROME = ZoneInfo("Europe/Rome")
NOTHING = Announced(frozenset(), None)


def _names(events) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(e.key, e.type) for e in events]


def test_fr_mp_i_1_open_session_is_announced_at_start_but_past_closures_are_not() -> None:
    due = due_announcements(DA_OPEN_AT, NOTHING, DA_OPEN_AT, ROME)
    assert (DA_SESSION, "SessionOpened") in _names(due)
    # Gates that closed before the start are not made up (a gate at the start is due).
    assert all(e.occurred_at >= DA_OPEN_AT for e in due if e.type == "SessionClosed")
    opened = next(e for e in due if e.key == DA_SESSION)
    # Opened at 12:00 in Rome, announced as of the scheduler's start.
    assert opened.payload["opens_at"] == "2026-06-09T10:00:00Z"
    assert opened.occurred_at == DA_OPEN_AT


def test_a_catch_up_announcement_does_not_make_the_scheduler_look_back() -> None:
    """After announcing the sessions open at its start, the scheduler does not announce
    closures that happened before its start (seen in the demo: an RT gate an hour back)."""
    start = DA_CLOSED_AT - timedelta(minutes=2)  # an RT gate closed an hour before
    first = due_announcements(start, NOTHING, start, ROME)
    assert _names(first) == [(DA_SESSION, "SessionOpened")]
    later = due_announcements(start + timedelta(seconds=1), Announced.from_events(first),
                              start, ROME)
    assert later == []


def test_fr_mp_fs_1_gate_closure_is_announced_once_at_its_time() -> None:
    first = due_announcements(DA_OPEN_AT, NOTHING, DA_OPEN_AT, ROME)
    announced = Announced.from_events(first)
    before = due_announcements(DA_CLOSED_AT - timedelta(seconds=1), announced, DA_OPEN_AT, ROME)
    assert (DA_SESSION, "SessionClosed") not in _names(before)
    at_gate = due_announcements(DA_CLOSED_AT, announced, DA_OPEN_AT, ROME)
    assert (DA_SESSION, "SessionClosed") in _names(at_gate)
    again = Announced.from_events([*first, *at_gate])
    assert due_announcements(DA_CLOSED_AT, again, DA_OPEN_AT, ROME) == []


def test_a_scheduler_that_was_down_announces_what_it_missed_in_order() -> None:
    first = due_announcements(DA_OPEN_AT, NOTHING, DA_OPEN_AT, ROME)
    later = DA_OPEN_AT + timedelta(hours=30)
    missed = due_announcements(later, Announced.from_events(first), later, ROME)
    times = [e.occurred_at for e in missed]
    assert times == sorted(times)
    closed = {e.key for e in missed if e.type == "SessionClosed"}
    expected = {s.session_id for s in day_sessions(DELIVERY_DAY, ROME)
                if DA_OPEN_AT <= s.gate_closes_at <= later}
    assert expected <= closed and DA_SESSION in closed


def test_announcing_twice_makes_the_same_event() -> None:
    one = due_announcements(DA_CLOSED_AT, NOTHING, DA_OPEN_AT, ROME)
    two = due_announcements(DA_CLOSED_AT, NOTHING, DA_OPEN_AT, ROME)
    assert [e.to_bytes() for e in one] == [e.to_bytes() for e in two]


def test_simulated_clocks_with_the_same_settings_agree() -> None:
    real = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    a = SimulatedClock(start=DA_OPEN_AT, anchor=real.now(), speed=600, real=real.now)
    b = SimulatedClock(start=DA_OPEN_AT, anchor=real.now(), speed=600, real=real.now)
    real.advance(timedelta(seconds=6))
    assert a.now() == b.now() == DA_OPEN_AT + timedelta(hours=1)
    assert a.real_seconds_until(DA_OPEN_AT + timedelta(hours=2)) == 6.0
