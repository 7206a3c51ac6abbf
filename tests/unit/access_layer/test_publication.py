"""The shared customer database's own publications: missing readings (FR_SCD_PD_3) and
the daily bundle's timing (FR_SCD_PDA_2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from access_layer.domain.publication import days_to_close, missing_readings, quarter_floor

ROME = ZoneInfo("Europe/Rome")
ADDRESS = "0x" + "ab" * 20
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_fr_scd_pd_3_a_silent_quarter_hour_is_published_as_missing() -> None:
    """Three quarter-hours of one PoD, one certified: the other two are missing, once."""
    nodes = {"POD-1": (ADDRESS, T0 - timedelta(days=1))}
    certified = {("POD-1", T0 + timedelta(minutes=15))}
    missing = missing_readings(nodes, T0, T0 + timedelta(minutes=45), certified)
    assert [(m.pod_id, m.interval_start) for m in missing] == [
        ("POD-1", T0), ("POD-1", T0 + timedelta(minutes=30))]
    assert all(m.node_address == ADDRESS for m in missing)
    again = missing_readings(nodes, T0, T0 + timedelta(minutes=45),
                             certified | {(m.pod_id, m.interval_start) for m in missing})
    assert again == []


def test_a_quarter_hour_not_yet_ended_or_before_enrolment_is_not_expected() -> None:
    nodes = {"POD-1": (ADDRESS, T0 + timedelta(minutes=20))}
    missing = missing_readings(nodes, T0, T0 + timedelta(minutes=50), set())
    assert [m.interval_start for m in missing] == [T0 + timedelta(minutes=30)]


def test_a_day_closes_once_it_ended_on_the_local_clock_plus_grace() -> None:
    grace = timedelta(minutes=15)
    day = date(2026, 12, 2)
    end = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # local midnight, UTC+1
    assert days_to_close(day, None, end + grace - timedelta(seconds=1), grace, ROME) == []
    assert days_to_close(day, None, end + grace, grace, ROME) == [day]
    assert days_to_close(day, day, end + timedelta(days=1, minutes=15), grace, ROME) == [
        date(2026, 12, 3)]


def test_quarter_floor() -> None:
    assert quarter_floor(T0 + timedelta(minutes=29, seconds=59)) == T0 + timedelta(minutes=15)
