"""Which 4-hour windows the dispatch processor issues at a given moment (FR_AP_A_3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.processors.dispatch import due_windows

ROME = ZoneInfo("Europe/Rome")
DAY = date(2026, 12, 2)


def _at(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=ROME).astimezone(UTC)


def test_fr_ap_a_3_a_window_is_due_15_minutes_before_it_starts() -> None:
    assert due_windows(_at(15, 44), ROME, set()) == [(DAY, 3)]
    assert due_windows(_at(15, 45), ROME, set()) == [(DAY, 3), (DAY, 4)]


def test_a_window_under_way_is_still_due_after_a_restart_but_not_once_over() -> None:
    assert (DAY, 4) in due_windows(_at(19, 59), ROME, set())
    assert (DAY, 4) not in due_windows(_at(20, 0), ROME, set())


def test_a_window_issued_is_not_due_again() -> None:
    assert due_windows(_at(15, 45) + timedelta(minutes=1), ROME, {(DAY, 3), (DAY, 4)}) == []
