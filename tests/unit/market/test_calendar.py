"""The session calendar: MTUs of a delivery day, the DA and six RT sessions and their gate
times, on ordinary and daylight-saving days in Europe/Rome (MARKET_RULES.md "Time")."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.domain.calendar import (
    MTU,
    SessionKind,
    SessionState,
    day_sessions,
    delivery_mtus,
)

ROME = ZoneInfo("Europe/Rome")
ORDINARY = date(2026, 6, 15)  # CEST, UTC+2
SPRING_FORWARD = date(2026, 3, 29)  # 02:00 → 03:00 local
FALL_BACK = date(2026, 10, 25)  # 03:00 → 02:00 local


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("day", "count"), [(ORDINARY, 96), (SPRING_FORWARD, 92),
                                            (FALL_BACK, 100), (date(2026, 1, 15), 96)])
def test_a_delivery_day_has_96_mtus_or_92_and_100_on_daylight_saving_days(
        day: date, count: int) -> None:
    mtus = delivery_mtus(day, ROME)
    assert len(mtus) == count
    assert [m.index for m in mtus] == list(range(count))
    assert all(m.end - m.start == MTU for m in mtus)


def test_mtu_0_starts_at_local_midnight() -> None:
    assert delivery_mtus(ORDINARY, ROME)[0].start == _utc(2026, 6, 14, 22, 0)
    assert delivery_mtus(date(2026, 1, 15), ROME)[0].start == _utc(2026, 1, 14, 23, 0)
    assert delivery_mtus(FALL_BACK, ROME)[-1].end == _utc(2026, 10, 25, 23, 0)


def test_fr_mp_fs_1_day_ahead_collects_for_4_hours_on_the_eve() -> None:
    """Opens D-1 12:00, gate closes D-1 16:00, outcome by D-1 18:00 (local)."""
    (da, *_) = day_sessions(ORDINARY)
    assert da.kind is SessionKind.DAY_AHEAD
    assert da.session_id == "DA-2026-06-15"
    assert (da.opens_at, da.gate_closes_at, da.outcome_due_at) == (
        _utc(2026, 6, 14, 10), _utc(2026, 6, 14, 14), _utc(2026, 6, 14, 16))
    assert da.gate_closes_at - da.opens_at == timedelta(hours=4)
    assert (da.first_mtu, da.mtu_count) == (0, 96)


def test_fr_mp_fs_1_real_time_sessions_collect_for_2_hours_before_their_window() -> None:
    """Six windows of 4 h; open 3 h before, gate 1 h before, outcome 30 min before and
    setpoints 15 min before the window starts (FR_AP_A_3)."""
    rt = day_sessions(ORDINARY)[1:]
    assert [s.session_id for s in rt] == [f"RT-2026-06-15-{k}" for k in range(6)]
    assert [(s.first_mtu, s.mtu_count) for s in rt] == [(16 * k, 16) for k in range(6)]
    third = rt[2]  # 08:00–12:00 local = 06:00–10:00 UTC
    assert (third.delivery_start, third.delivery_end) == (_utc(2026, 6, 15, 6),
                                                          _utc(2026, 6, 15, 10))
    assert third.opens_at == _utc(2026, 6, 15, 3)
    assert third.gate_closes_at == _utc(2026, 6, 15, 5)
    assert third.outcome_due_at == _utc(2026, 6, 15, 5, 30)
    assert third.setpoints_at == _utc(2026, 6, 15, 5, 45)
    assert third.gate_closes_at - third.opens_at == timedelta(hours=2)


@pytest.mark.parametrize(("day", "sizes"), [
    (SPRING_FORWARD, [12, 16, 16, 16, 16, 16]),  # 00:00–04:00 local lasts 3 h
    (FALL_BACK, [20, 16, 16, 16, 16, 16]),  # … and 5 h
])
def test_the_window_holding_the_clock_change_is_shorter_or_longer(day: date,
                                                                  sizes: list[int]) -> None:
    rt = day_sessions(day)[1:]
    assert [s.mtu_count for s in rt] == sizes
    assert rt[1].first_mtu == sizes[0]


def test_session_state_follows_the_gates() -> None:
    da = day_sessions(ORDINARY)[0]
    assert da.state_at(da.opens_at - timedelta(microseconds=1)) is SessionState.SCHEDULED
    assert da.state_at(da.opens_at) is SessionState.OPEN
    assert da.state_at(da.gate_closes_at - timedelta(microseconds=1)) is SessionState.OPEN
    assert da.state_at(da.gate_closes_at) is SessionState.CLOSED
    assert da.covers(0) and da.covers(95) and not da.covers(96)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
def test_sessions_tile_every_delivery_day(day: date) -> None:
    """On any day the RT windows cover the day's MTUs exactly once, in order, and every
    gate closes before the delivery it sells starts."""
    mtus = delivery_mtus(day, ROME)
    da, *rt = day_sessions(day, ROME)
    assert da.mtu_count == len(mtus) == sum(s.mtu_count for s in rt)
    assert rt[0].first_mtu == 0
    for before, after in itertools.pairwise(rt):
        assert after.first_mtu == before.first_mtu + before.mtu_count
        assert after.delivery_start == before.delivery_end
    assert rt[-1].delivery_end == mtus[-1].end
    for session in (da, *rt):
        assert session.opens_at < session.gate_closes_at < session.delivery_start
        assert session.delivery_start == mtus[session.first_mtu].start
    assert da.outcome_due_at < rt[0].opens_at  # DA results known before RT trading
