"""The Aggregator Platform's baselines on hand-computed examples (Platone FR_AP_PR_2: set
manually or imported, or computed from typical consumption), in Europe/Rome, including the
92- and 100-MTU daylight-saving days of 2026 (29 March, 25 October)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.domain.baselines import (
    AggregatorError,
    high_x_of_y_baseline,
    typical_profile_baseline,
    uploaded_baseline,
)
from dso.domain.forecast import Sample, learn_profiles
from ledger.errors import Rejected

ROME = ZoneInfo("Europe/Rome")
WEDNESDAY = date(2026, 6, 10)
SPRING_SUNDAY = date(2026, 3, 29)  # 92 MTUs: 02:00–03:00 does not exist
AUTUMN_SUNDAY = date(2026, 10, 25)  # 100 MTUs: 02:00–03:00 twice
Flat = list[tuple[float, float]]


def _flat(p_kw: float, count: int = 96) -> Flat:
    return [(p_kw, p_kw / 10)] * count


def _error(call: Callable[[], object]) -> AggregatorError:
    with pytest.raises(AggregatorError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("day", "count"), [(WEDNESDAY, 96), (SPRING_SUNDAY, 92),
                                            (AUTUMN_SUNDAY, 100)])
def test_fr_ap_pr_2_an_uploaded_baseline_covers_every_mtu_of_the_day(day: date,
                                                                      count: int) -> None:
    """FR_AP_PR_2 way 1/2: the user's or an imported curve, one slot per MTU in order."""
    values = [(float(i), -0.5 * i) for i in range(count)]
    baseline = uploaded_baseline("POD-1", "AGG-1", day, values, ROME)
    assert (baseline.method, baseline.delivery_day, baseline.pod_id) == ("uploaded", day,
                                                                         "POD-1")
    assert [(s.mtu, s.p_kw, s.q_kvar) for s in baseline.slots] == [
        (i, float(i), -0.5 * i) for i in range(count)]


@pytest.mark.parametrize(("day", "count"), [(WEDNESDAY, 92), (SPRING_SUNDAY, 96),
                                            (AUTUMN_SUNDAY, 96), (WEDNESDAY, 100)])
def test_fr_ap_pr_2_an_uploaded_baseline_of_the_wrong_length_is_refused(day: date,
                                                                         count: int) -> None:
    err = _error(lambda: uploaded_baseline("POD-1", "AGG-1", day, _flat(1.0, count), ROME))
    assert (err.code, err.field) == ("BASELINE_SLOTS", "slots")
    assert f"has {count} slots" in err.message
    assert isinstance(err, Rejected)  # the API's one handler answers it with a 422


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2e6])
def test_an_uploaded_baseline_with_a_bad_number_names_the_slot(bad: float) -> None:
    values = _flat(1.0)
    values[7] = (1.0, bad)
    err = _error(lambda: uploaded_baseline("POD-1", "AGG-1", WEDNESDAY, values, ROME))
    assert (err.code, err.field) == ("BASELINE_VALUE", "slots.7")


def test_an_uploaded_baseline_with_an_id_the_event_refuses_is_an_aggregator_error() -> None:
    err = _error(lambda: uploaded_baseline("POD 1", "AGG-1", WEDNESDAY, _flat(1.0), ROME))
    assert (err.code, err.field) == ("BASELINE_INVALID", "pod_id")


def _ramp(p_kw: float, count: int = 96) -> Flat:
    """P = p_kw + 0.01 · MTU, Q a tenth of P: a shape, so misaligned MTUs would show."""
    return [(p_kw + 0.01 * i, (p_kw + 0.01 * i) / 10) for i in range(count)]


# Weekdays before Wednesday 10 June 2026, most recent first, with what each is for.
WEEKDAY_HISTORY: dict[date, Flat] = {
    date(2026, 6, 9): _ramp(1.0),  # Tue: candidate, low
    date(2026, 6, 8): _ramp(40.0),  # Mon: had an activation (excluded)
    date(2026, 6, 7): _ramp(100.0),  # Sun: other day type
    date(2026, 6, 6): _ramp(100.0),  # Sat: other day type
    date(2026, 6, 5): _ramp(3.0),  # Fri: candidate, kept
    date(2026, 6, 4): _ramp(50.0, 95),  # Thu: incomplete (a reading missing)
    date(2026, 6, 3): _ramp(2.0),  # Wed: candidate
    date(2026, 6, 2): _ramp(90.0),  # Tue, Festa della Repubblica: a holiday
    date(2026, 6, 1): _ramp(5.0),  # Mon: candidate, kept (4th of Y = 4)
    date(2026, 5, 29): _ramp(80.0),  # Fri: 5th eligible weekday, beyond Y
    WEDNESDAY: _ramp(70.0),  # the delivery day itself is never history
}


def test_fr_ap_pr_2_high_x_of_y_keeps_the_highest_days_of_the_same_day_type() -> None:
    """FR_AP_PR_2 way 3 ("calculated with a basic forecast algorithm"): of the Y = 4 most
    recent complete weekdays without activations (9, 5, 3 and 1 June: not the weekend,
    not the 2 June holiday, not the excluded 8th, not the incomplete 4th), the X = 2 with
    the most energy (1 June at 5 kW, 5 June at 3 kW) average to 4 kW + 0.01 · MTU."""
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", WEDNESDAY, WEEKDAY_HISTORY, ROME, x=2,
                                    y=4, excluded_days={date(2026, 6, 8)})
    assert baseline.method == "high_x_of_y"
    assert len(baseline.slots) == 96
    for i, slot in enumerate(baseline.slots):
        assert slot.mtu == i
        assert slot.p_kw == pytest.approx(4.0 + 0.01 * i)
        assert slot.q_kvar == pytest.approx(0.4 + 0.001 * i)


def test_fr_ap_pr_2_high_x_of_y_looks_further_back_past_excluded_days() -> None:
    """With 1 June excluded too, Y = 4 reaches back to 29 May (80 kW), which then wins:
    (80 + 3) / 2 = 41.5 kW at MTU 0."""
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", WEDNESDAY, WEEKDAY_HISTORY, ROME, x=2,
                                    y=4, excluded_days={date(2026, 6, 8), date(2026, 6, 1)})
    assert baseline.slots[0].p_kw == pytest.approx(41.5)


def test_fr_ap_pr_2_high_x_of_y_with_too_few_days_says_how_many_it_found() -> None:
    history = {date(2026, 6, 9): _flat(1.0), date(2026, 6, 8): _flat(2.0),
               date(2026, 6, 6): _flat(9.0)}
    err = _error(lambda: high_x_of_y_baseline("POD-1", "AGG-1", WEDNESDAY, history, ROME,
                                              x=3, y=5))
    assert (err.code, err.field) == ("BASELINE_HISTORY", "history")
    assert "found 2" in err.message


def test_high_x_of_y_breaks_an_energy_tie_for_the_more_recent_day() -> None:
    """9 and 5 June both total 96 kW·MTU; the shapes differ, so the pick shows."""
    history = {date(2026, 6, 9): [(2.0, 0.0)] * 48 + [(0.0, 0.0)] * 48,
               date(2026, 6, 5): [(0.0, 0.0)] * 48 + [(2.0, 0.0)] * 48}
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", WEDNESDAY, history, ROME, x=1, y=2)
    assert (baseline.slots[0].p_kw, baseline.slots[95].p_kw) == (2.0, 0.0)


@pytest.mark.parametrize(("x", "y", "field"), [(0, 10, "x"), (6, 5, "x"), (1, 0, "y"),
                                               (True, 10, "x")])
def test_high_x_of_y_needs_1_le_x_le_y(x: int, y: int, field: str) -> None:
    err = _error(lambda: high_x_of_y_baseline("POD-1", "AGG-1", WEDNESDAY, WEEKDAY_HISTORY,
                                              ROME, x=x, y=y))
    assert (err.code, err.field) == ("BASELINE_PARAMS", field)


def _by_slot(offset: float) -> Flat:
    """A 96-MTU day whose P is its local quarter-hour index plus ``offset``."""
    return [(float(i) + offset, 0.0) for i in range(96)]


def test_fr_ap_pr_2_high_x_of_y_on_the_100_mtu_day_repeats_the_clock_hour() -> None:
    """25 October 2026: MTUs 8–11 are 02:00–02:45 CEST and MTUs 12–15 02:00–02:45 CET; both
    take the candidates' 02:00–02:45 (slots 8–11). Sundays 18 and 11 October, offsets 0
    and 10: the mean is slot + 5."""
    history = {date(2026, 10, 18): _by_slot(0.0), date(2026, 10, 11): _by_slot(10.0)}
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", AUTUMN_SUNDAY, history, ROME, x=2,
                                    y=2)
    clock_slots = list(range(12)) + list(range(8, 96))
    assert [s.p_kw for s in baseline.slots] == [slot + 5.0 for slot in clock_slots]
    assert len(baseline.slots) == 100


def test_fr_ap_pr_2_high_x_of_y_on_the_92_mtu_day_drops_the_missing_hour() -> None:
    """29 March 2026: after 01:45 comes 03:00, so MTU 8 takes slot 12."""
    history = {date(2026, 3, 22): _by_slot(0.0), date(2026, 3, 15): _by_slot(10.0)}
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", SPRING_SUNDAY, history, ROME, x=2,
                                    y=2)
    clock_slots = list(range(8)) + list(range(12, 96))
    assert [s.p_kw for s in baseline.slots] == [slot + 5.0 for slot in clock_slots]


def test_high_x_of_y_averages_the_two_passes_of_a_100_mtu_history_day() -> None:
    """1 November 2026 (a Sunday and All Saints) from 25 October alone: its first pass of
    02:00–02:45 read 10 kW, the second 20 kW, so the baseline's 02:00–02:45 is 15 kW."""
    values = [(1.0, 0.0)] * 100
    values[8:12] = [(10.0, 1.0)] * 4
    values[12:16] = [(20.0, 3.0)] * 4
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", date(2026, 11, 1),
                                    {AUTUMN_SUNDAY: values}, ROME, x=1, y=1)
    assert [(s.p_kw, s.q_kvar) for s in baseline.slots[6:14]] == [
        (1.0, 0.0), (1.0, 0.0), (15.0, 2.0), (15.0, 2.0), (15.0, 2.0), (15.0, 2.0),
        (1.0, 0.0), (1.0, 0.0)]


def test_high_x_of_y_fills_the_hour_a_92_mtu_history_day_lacks_from_the_other_days() -> None:
    """Easter Sunday 5 April 2026 from 29 March (92 MTUs, 2 kW) and 22 March (4 kW): the
    mean is 3 kW except 02:00–02:45, which only 22 March has."""
    history = {SPRING_SUNDAY: _flat(2.0, 92), date(2026, 3, 22): _flat(4.0)}
    baseline = high_x_of_y_baseline("POD-1", "AGG-1", date(2026, 4, 5), history, ROME, x=2,
                                    y=2)
    assert [s.p_kw for s in baseline.slots] == [3.0] * 8 + [4.0] * 4 + [3.0] * 84


def test_high_x_of_y_refuses_when_no_kept_day_has_a_clock_time() -> None:
    err = _error(lambda: high_x_of_y_baseline("POD-1", "AGG-1", date(2026, 4, 5),
                                              {SPRING_SUNDAY: _flat(2.0, 92)}, ROME, x=1,
                                              y=1))
    assert (err.code, err.field) == ("BASELINE_HISTORY", "history")
    assert "02:00" in err.message


def _june_weekday_samples() -> list[Sample]:
    """Wednesday 3 June 2026 read every quarter-hour: P = local hour kW, Q = 0.5 kVAr."""
    start = datetime(2026, 6, 3, tzinfo=ROME).astimezone(UTC)
    return [Sample("POD-1", start + k * timedelta(minutes=15), float(k // 4), 0.5)
            for k in range(96)]


def test_fr_ap_pr_2_the_typical_profile_baseline_is_the_forecast_of_the_day() -> None:
    """FR_AP_PR_2 way 3, "based on typical consumption": the June weekday profile, one
    slot per MTU, P = local hour."""
    book = learn_profiles(_june_weekday_samples(), ROME)
    baseline = typical_profile_baseline("POD-1", "AGG-1", WEDNESDAY, book, ROME)
    assert baseline.method == "typical_profile"
    assert [(s.mtu, s.p_kw, s.q_kvar) for s in baseline.slots] == [
        (i, float(i // 4), 0.5) for i in range(96)]


def test_a_typical_profile_baseline_without_a_profile_keeps_the_forecasts_message() -> None:
    book = learn_profiles(_june_weekday_samples(), ROME)
    err = _error(lambda: typical_profile_baseline("POD-2", "AGG-1", WEDNESDAY, book, ROME))
    assert (err.code, err.field) == ("BASELINE_FORECAST", "book")
    assert err.message.startswith("no load profile for PoD 'POD-2' at 00:00 local")


def test_a_typical_profile_baseline_in_another_zone_is_refused() -> None:
    book = learn_profiles(_june_weekday_samples(), ROME)
    err = _error(lambda: typical_profile_baseline("POD-1", "AGG-1", WEDNESDAY, book,
                                                  ZoneInfo("Europe/London")))
    assert (err.code, err.field) == ("BASELINE_FORECAST", "zone")
    assert err.message == "the profiles were learned on the Europe/Rome clock, not " \
        "Europe/London"
