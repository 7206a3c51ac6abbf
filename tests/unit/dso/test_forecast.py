"""The DSO forecasting tool on hand-computed examples (Platone D3.3 A.3 "Forecasting tool":
3 typical profiles per month, reference slot 15 min; horizons "following day" and "next 4
hours"): Italian holidays, profile learning on the local clock, daylight-saving days, the
lookup fallbacks, the blended 4-hour window and the clear-sky PV curve, in Europe/Rome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dso.domain.forecast import (
    ForecastError,
    ProfileBook,
    ProfileMissing,
    Sample,
    day_type,
    forecast_day,
    forecast_window,
    italian_holidays,
    learn_profiles,
    pv_profile,
)

ROME = ZoneInfo("Europe/Rome")
QUARTER = timedelta(minutes=15)
Value = Callable[[datetime], tuple[float, float]]


def _quarter_hours(first: date, last: date) -> list[datetime]:
    """Every UTC quarter-hour from local midnight of ``first`` to local midnight after
    ``last`` (stdlib arithmetic only, so the oracle does not lean on the calendar module)."""
    at = datetime(first.year, first.month, first.day, tzinfo=ROME).astimezone(UTC)
    end_day = last + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=ROME).astimezone(UTC)
    instants = []
    while at < end:
        instants.append(at)
        at += QUARTER
    return instants


def _samples(pod: str, first: date, last: date, value: Value) -> list[Sample]:
    """A sample per quarter-hour of the local days ``first``..``last``; ``value`` gets the
    local time of the quarter-hour's start."""
    return [Sample(pod, at, *value(at.astimezone(ROME))) for at in _quarter_hours(first, last)]


def _by_type(weekday: float, saturday: float, holiday: float) -> Value:
    """A flat load per day type, by the weekday and a hand-written list of holidays
    (Q = P / 4)."""
    holidays = {date(2026, 6, 2), date(2026, 8, 15)}

    def value(local: datetime) -> tuple[float, float]:
        if local.weekday() == 6 or local.date() in holidays:
            p = holiday
        elif local.weekday() == 5:
            p = saturday
        else:
            p = weekday
        return p, p / 4

    return value


def _clock(local: datetime) -> tuple[float, float]:
    """P = the local clock in hours (09:15 → 9.25 kW), Q = −P: each slot is recognisable."""
    p = local.hour + local.minute / 60
    return p, -p


def _one_day(pod: str, day: date, p_kw: float) -> list[Sample]:
    return _samples(pod, day, day, lambda _: (p_kw, p_kw / 2))


# --- holidays and day types -------------------------------------------------------------

@pytest.mark.parametrize(("easter", "year"), [
    (date(2000, 4, 23), 2000), (date(2024, 3, 31), 2024), (date(2025, 4, 20), 2025),
    (date(2026, 4, 5), 2026), (date(2027, 3, 28), 2027), (date(2038, 4, 25), 2038),
    (date(2285, 3, 22), 2285), (date(1818, 3, 22), 1818),
])
def test_easter_sunday_and_monday_are_holidays(easter: date, year: int) -> None:
    """Published Easter dates, including the earliest (22 March) and latest (25 April)."""
    holidays = italian_holidays(year)
    assert easter in holidays
    assert easter + timedelta(days=1) in holidays


def test_italian_national_holidays_of_2026() -> None:
    """Twelve national holidays plus Easter Sunday; 4 October is back from 2026."""
    assert italian_holidays(2026) == {
        date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 5), date(2026, 4, 6),
        date(2026, 4, 25), date(2026, 5, 1), date(2026, 6, 2), date(2026, 8, 15),
        date(2026, 10, 4), date(2026, 11, 1), date(2026, 12, 8), date(2026, 12, 25),
        date(2026, 12, 26)}
    assert date(2025, 10, 4) not in italian_holidays(2025)


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 4, 6), "holiday"),   # Easter Monday
    (date(2026, 6, 2), "holiday"),   # Festa della Repubblica, a Tuesday
    (date(2026, 12, 25), "holiday"),  # Christmas, a Friday
    (date(2026, 8, 15), "holiday"),  # Ferragosto on a Saturday: the holiday wins
    (date(2027, 10, 4), "holiday"),  # St Francis, a Monday
    (date(2025, 10, 4), "saturday"),  # St Francis before 2026: an ordinary Saturday
    (date(2026, 4, 7), "weekday"),   # the Tuesday after Easter
    (date(2026, 4, 11), "saturday"),
    (date(2026, 4, 12), "holiday"),  # a Sunday
    (date(2026, 6, 29), "weekday"),  # Rome's patron saints: local, not national
])
def test_day_type(day: date, expected: str) -> None:
    assert day_type(day) == expected


def test_holidays_outside_the_gregorian_range_are_refused() -> None:
    with pytest.raises(ForecastError, match="1582"):
        italian_holidays(1582)


# --- samples and learning ----------------------------------------------------------------

@pytest.mark.parametrize("start", [
    datetime(2026, 6, 10, 8, 0),  # naive
    datetime(2026, 6, 10, 8, 0, tzinfo=ROME),  # aware, not UTC
    datetime(2026, 6, 10, 8, 5, tzinfo=UTC),  # off the quarter-hour
    datetime(2026, 6, 10, 8, 0, 30, tzinfo=UTC),
])
def test_a_sample_needs_a_utc_quarter_hour_start(start: datetime) -> None:
    with pytest.raises(ForecastError) as error:
        Sample("POD-1", start, 1.0, 0.0)
    assert error.value.field == "start"


def test_a_sample_needs_finite_powers_and_a_pod() -> None:
    at = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    with pytest.raises(ForecastError, match="non-finite"):
        Sample("POD-1", at, float("nan"), 0.0)
    with pytest.raises(ForecastError, match="non-finite"):
        Sample("POD-1", at, 1.0, float("inf"))
    with pytest.raises(ForecastError, match="PoD id"):
        Sample("", at, 1.0, 0.0)


def test_profiles_of_four_june_weeks_give_back_each_day_types_load() -> None:
    """1–28 June 2026 (Monday to Sunday ×4): weekday 2 kW, Saturday 3 kW, Sunday and
    2 June 1 kW. Samples per slot: 20 weekdays − 2 June = 19, 4 Saturdays, 4 Sundays +
    2 June = 5."""
    book = learn_profiles(_samples("POD-1", date(2026, 6, 1), date(2026, 6, 28),
                                   _by_type(2.0, 3.0, 1.0)), ROME)
    for type_, p_kw, count in (("weekday", 2.0, 19), ("saturday", 3.0, 4),
                               ("holiday", 1.0, 5)):
        curve = book.curve("POD-1", 6, type_)  # type: ignore[arg-type]
        assert curve is not None
        assert curve.p_kw == (p_kw,) * 96
        assert curve.q_kvar == (p_kw / 4,) * 96
        assert curve.samples == (count,) * 96
    assert book.pod_ids == {"POD-1"}
    assert book.curve("POD-1", 7, "weekday") is None

    # A Monday, a Saturday, a Sunday and a Tuesday holiday of June.
    for day, p_kw in ((date(2026, 6, 15), 2.0), (date(2026, 6, 20), 3.0),
                      (date(2026, 6, 21), 1.0), (date(2026, 6, 2), 1.0)):
        forecast = forecast_day(book, ["POD-1"], day, ROME)["POD-1"]
        assert forecast.shape == (96, 2)
        np.testing.assert_array_equal(forecast[:, 0], np.full(96, p_kw))
        np.testing.assert_array_equal(forecast[:, 1], np.full(96, p_kw / 4))


def test_a_slot_profile_is_the_mean_of_its_samples() -> None:
    """Two June Wednesdays at 1 kW and 3 kW (Q 0.5 and 1.5): mean 2 kW, 1 kVAr, 2 samples."""
    samples = _one_day("POD-1", date(2026, 6, 10), 1.0) + _one_day(
        "POD-1", date(2026, 6, 17), 3.0)
    curve = learn_profiles(samples, ROME).curve("POD-1", 6, "weekday")
    assert curve is not None
    assert curve.p_kw == (2.0,) * 96
    assert curve.q_kvar == (1.0,) * 96
    assert curve.samples == (2,) * 96


def test_learning_maps_a_sample_to_the_local_slot_of_its_start() -> None:
    """08:00 UTC is 09:00 in January (CET, slot 36) and 10:00 in July (CEST, slot 40). A
    slot without a sample stays absent, not 0 kW."""
    book = learn_profiles([
        Sample("POD-1", datetime(2026, 1, 14, 8, 0, tzinfo=UTC), 5.0, 1.0),
        Sample("POD-1", datetime(2026, 7, 15, 8, 0, tzinfo=UTC), 7.0, 2.0),
    ], ROME)
    january, july = book.curve("POD-1", 1, "weekday"), book.curve("POD-1", 7, "weekday")
    assert january is not None and july is not None
    assert (january.p_kw[36], january.q_kvar[36], january.samples[36]) == (5.0, 1.0, 1)
    assert (july.p_kw[40], july.q_kvar[40], july.samples[40]) == (7.0, 2.0, 1)
    assert january.p_kw[40] is None and january.samples[40] == 0
    assert july.p_kw[36] is None and july.q_kvar[36] is None


# --- daylight saving ---------------------------------------------------------------------

def test_spring_forward_day_has_92_mtus_and_skips_the_local_hour_02() -> None:
    """2026-03-29: local 00:00–01:45 (slots 0–7), then 03:00–23:45 (slots 12–95)."""
    book = learn_profiles(_samples("POD-1", date(2026, 3, 1), date(2026, 3, 31), _clock), ROME)
    forecast = forecast_day(book, ["POD-1"], date(2026, 3, 29), ROME)["POD-1"]
    expected = [slot / 4 for slot in range(96) if not 8 <= slot < 12]
    assert forecast.shape == (92, 2)
    np.testing.assert_allclose(forecast[:, 0], expected)
    np.testing.assert_allclose(forecast[:, 1], [-p for p in expected])


def test_fall_back_day_has_100_mtus_and_repeats_the_local_hour_02() -> None:
    """2026-10-25: local 00:00–02:45 CEST (slots 0–11), then 02:00–23:45 CET (slots
    8–95): the repeated hour reads slots 8–11 twice."""
    book = learn_profiles(_samples("POD-1", date(2026, 10, 1), date(2026, 10, 31), _clock),
                          ROME)
    forecast = forecast_day(book, ["POD-1"], date(2026, 10, 25), ROME)["POD-1"]
    expected = [slot / 4 for slot in list(range(12)) + list(range(8, 96))]
    assert forecast.shape == (100, 2)
    np.testing.assert_allclose(forecast[:, 0], expected)


def test_learning_on_the_fall_back_day_pools_both_passes_of_the_repeated_hour() -> None:
    """Local 02:00–02:45 occurs twice on 2026-10-25 (00:00 UTC CEST and 01:00 UTC CET): 2
    samples per slot 8–11, 1 elsewhere; the spring day has no sample in slots 8–11."""
    book = learn_profiles(_one_day("POD-1", date(2026, 10, 25), 4.0)
                          + _one_day("POD-1", date(2026, 3, 29), 4.0), ROME)
    october, march = book.curve("POD-1", 10, "holiday"), book.curve("POD-1", 3, "holiday")
    assert october is not None and march is not None
    assert october.samples == (1,) * 8 + (2,) * 4 + (1,) * 84
    assert march.samples == (1,) * 8 + (0,) * 4 + (1,) * 84
    assert march.p_kw[8:12] == (None,) * 4


# --- fallbacks ---------------------------------------------------------------------------

def _mid_year_book() -> ProfileBook:
    """A PoD registered mid-year: June weekday 2 kW (10 June) and Saturday 3 kW (13 June),
    September weekday 5 kW (9 September); no holiday data anywhere."""
    return learn_profiles(_one_day("POD-M", date(2026, 6, 10), 2.0)
                          + _one_day("POD-M", date(2026, 6, 13), 3.0)
                          + _one_day("POD-M", date(2026, 9, 9), 5.0), ROME)


@pytest.mark.parametrize(("month", "type_", "p_kw", "why"), [
    (6, "weekday", 2.0, "its own curve"),
    (7, "weekday", 2.0, "June is 1 month away, September 2"),
    (8, "weekday", 5.0, "September is 1 month away, June 2"),
    (3, "weekday", 2.0, "June is 3 months away, September 6 (circular)"),
    (12, "weekday", 5.0, "September is 3 months away, June 6"),
    (9, "saturday", 3.0, "same day type in June beats another day type of September"),
    (6, "holiday", 3.0, "no holiday anywhere: June's Saturday before June's weekday"),
    (9, "holiday", 5.0, "no holiday anywhere, no Saturday in September: its weekday"),
])
def test_lookup_fallback_order(month: int, type_: str, p_kw: float, why: str) -> None:
    book = _mid_year_book()
    assert book.lookup("POD-M", month, type_, 40) == (p_kw, p_kw / 2), why


@pytest.mark.parametrize(("asked", "p_kw"), [("saturday", 1.0), ("weekday", 3.0)])
def test_lookup_other_day_type_prefers_the_closest_one(asked: str, p_kw: float) -> None:
    """Weekday 10 June 2 kW, Saturday 13 June 3 kW, Sunday 14 June 1 kW, with each day
    type dropped in turn: a Saturday takes the holiday before the weekday; a weekday
    takes the Saturday before the holiday."""
    days = {"weekday": (date(2026, 6, 10), 2.0), "saturday": (date(2026, 6, 13), 3.0),
            "holiday": (date(2026, 6, 14), 1.0)}
    samples = [sample for type_, (day, value) in days.items() if type_ != asked
               for sample in _one_day("POD-T", day, value)]
    book = learn_profiles(samples, ROME)
    assert book.lookup("POD-T", 6, asked, 10) == (p_kw, p_kw / 2)  # type: ignore[arg-type]


def test_lookup_nearest_month_wraps_around_the_year_and_ties_go_to_the_earlier_month() -> None:
    """Data in December (7 kW) and April (4 kW): January takes December (1 away, not 3);
    February is 2 from both and takes December, the earlier; March takes April."""
    book = learn_profiles(_one_day("POD-W", date(2026, 12, 9), 7.0)
                          + _one_day("POD-W", date(2026, 4, 15), 4.0), ROME)
    assert book.lookup("POD-W", 1, "weekday", 0) == (7.0, 3.5)
    assert book.lookup("POD-W", 2, "weekday", 0) == (7.0, 3.5)
    assert book.lookup("POD-W", 3, "weekday", 0) == (4.0, 2.0)


def test_lookup_falls_back_slot_by_slot() -> None:
    """June has only 09:00 (slot 36, 1 kW); July a whole weekday at 6 kW: a June weekday is
    1 kW at 09:00 and July's 6 kW elsewhere."""
    nine_local = Sample("POD-S", datetime(2026, 6, 10, 7, 0, tzinfo=UTC), 1.0, 0.0)
    book = learn_profiles([nine_local, *_one_day("POD-S", date(2026, 7, 15), 6.0)], ROME)
    forecast = forecast_day(book, ["POD-S"], date(2026, 6, 17), ROME)["POD-S"]
    expected = np.full(96, 6.0)
    expected[36] = 1.0
    np.testing.assert_array_equal(forecast[:, 0], expected)


def test_lookup_with_nothing_to_fall_back_on_names_the_pod() -> None:
    """No holiday in any month, no data of any type in January."""
    book = _mid_year_book()
    with pytest.raises(ProfileMissing, match="POD-M") as error:
        book.lookup("POD-M", 1, "holiday", 0)
    assert (error.value.pod_id, error.value.month, error.value.day_type) == (
        "POD-M", 1, "holiday")
    with pytest.raises(ProfileMissing, match="POD-UNKNOWN"):
        forecast_day(book, ["POD-M", "POD-UNKNOWN"], date(2026, 6, 10), ROME)
    assert issubclass(ProfileMissing, ForecastError)


def test_a_book_is_only_used_on_the_clock_it_was_learned_on() -> None:
    book = learn_profiles(_one_day("POD-1", date(2026, 6, 10), 1.0), ROME)
    with pytest.raises(ForecastError) as error:
        forecast_day(book, ["POD-1"], date(2026, 6, 10), ZoneInfo("Europe/London"))
    assert error.value.field == "zone"


# --- the next-4-hours window -------------------------------------------------------------

def _june_clock_book() -> ProfileBook:
    return learn_profiles(_samples("POD-1", date(2026, 6, 8), date(2026, 6, 12), _clock)
                          + _samples("POD-2", date(2026, 6, 8), date(2026, 6, 12), _clock),
                          ROME)


def test_forecast_window_without_latest_is_the_profile_of_16_quarter_hours() -> None:
    """From 08:00 local (06:00 UTC) on Wednesday 10 June: 8.00, 8.25, … 11.75 kW."""
    window = forecast_window(_june_clock_book(), ["POD-1"],
                             datetime(2026, 6, 10, 6, 0, tzinfo=UTC), zone=ROME)["POD-1"]
    assert window.shape == (16, 2)
    np.testing.assert_allclose(window[:, 0], [8 + k / 4 for k in range(16)])


def test_forecast_window_starts_at_latest_and_blends_back_with_the_half_life() -> None:
    """Profile P_k = 8 + k/4 kW, latest P 10 kW: deviation 2 kW fading with half-life 4:
    k=0 → 10 (= latest), k=4 → 9 + 1 = 10 (half the deviation), k=8 → 10 + 0.5 = 10.5.
    Profile Q_k = −(8 + k/4), latest Q −8: no deviation, Q is the profile. POD-2 has no
    latest and keeps its profile."""
    window = forecast_window(_june_clock_book(), ["POD-1", "POD-2"],
                             datetime(2026, 6, 10, 6, 0, tzinfo=UTC), zone=ROME,
                             latest={"POD-1": (10.0, -8.0)}, half_life_mtus=4.0)
    p_kw = window["POD-1"][:, 0]
    assert p_kw[0] == pytest.approx(10.0)
    assert p_kw[4] - 9.0 == pytest.approx(1.0)
    assert p_kw[8] == pytest.approx(10.5)
    np.testing.assert_allclose(p_kw, [8 + k / 4 + 2 * 0.5 ** (k / 4) for k in range(16)])
    np.testing.assert_allclose(window["POD-1"][:, 1], [-(8 + k / 4) for k in range(16)])
    np.testing.assert_allclose(window["POD-2"][:, 0], [8 + k / 4 for k in range(16)])


def test_forecast_window_with_another_half_life_and_length() -> None:
    """Half-life 2, 6 quarter-hours, latest P 4 kW against a profile starting at 8 kW:
    the −4 kW deviation halves every 2 quarter-hours: k=2 → 8.5 − 2 = 6.5, k=4 → 9 − 1 = 8."""
    window = forecast_window(_june_clock_book(), ["POD-1"],
                             datetime(2026, 6, 10, 6, 0, tzinfo=UTC), 6, zone=ROME,
                             latest={"POD-1": (4.0, 0.0)}, half_life_mtus=2.0)["POD-1"]
    assert window.shape == (6, 2)
    assert window[0, 0] == pytest.approx(4.0)
    assert window[2, 0] == pytest.approx(8.5 - 2.0)
    assert window[4, 0] == pytest.approx(9.0 - 1.0)


def test_forecast_window_crossing_midnight_takes_each_quarter_hours_own_day_type() -> None:
    """From Friday 12 June 23:00 local: 4 weekday quarter-hours at 2 kW, then 12 Saturday
    ones at 3 kW."""
    book = learn_profiles(_samples("POD-1", date(2026, 6, 1), date(2026, 6, 28),
                                   _by_type(2.0, 3.0, 1.0)), ROME)
    window = forecast_window(book, ["POD-1"], datetime(2026, 6, 12, 21, 0, tzinfo=UTC),
                             zone=ROME)["POD-1"]
    np.testing.assert_array_equal(window[:, 0], [2.0] * 4 + [3.0] * 12)


def test_forecast_window_across_spring_forward_skips_the_missing_hour() -> None:
    """From local midnight of 2026-03-29 (23:00 UTC the day before): 00:00–01:45, then
    03:00–04:45 local."""
    book = learn_profiles(_samples("POD-1", date(2026, 3, 1), date(2026, 3, 31), _clock), ROME)
    window = forecast_window(book, ["POD-1"], datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
                             zone=ROME)["POD-1"]
    np.testing.assert_allclose(window[:, 0],
                               [slot / 4 for slot in list(range(8)) + list(range(12, 20))])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"mtus": 0}, "mtus"),
    ({"mtus": -3}, "mtus"),
    ({"mtus": 2.0}, "mtus"),
    ({"half_life_mtus": 0.0}, "half_life_mtus"),
    ({"half_life_mtus": -1.0}, "half_life_mtus"),
    ({"half_life_mtus": float("nan")}, "half_life_mtus"),
    ({"start": datetime(2026, 6, 10, 6, 0)}, "start"),
    ({"start": datetime(2026, 6, 10, 6, 10, tzinfo=UTC)}, "start"),
    ({"latest": {"POD-1": (float("nan"), 0.0)}}, "latest[POD-1]"),
])
def test_forecast_window_rejects_bad_arguments_naming_them(kwargs: dict, field: str) -> None:
    arguments = {"start": datetime(2026, 6, 10, 6, 0, tzinfo=UTC), "zone": ROME} | kwargs
    with pytest.raises(ForecastError, match=field.split("[")[0]) as error:
        forecast_window(_june_clock_book(), ["POD-1"], **arguments)  # type: ignore[arg-type]
    assert error.value.field == field


def test_forecast_window_accepts_a_start_in_local_time() -> None:
    """08:00 CEST is 06:00 UTC: the same window."""
    book = _june_clock_book()
    local = forecast_window(book, ["POD-1"], datetime(2026, 6, 10, 8, 0, tzinfo=ROME),
                            zone=ROME)["POD-1"]
    np.testing.assert_allclose(local[:, 0], [8 + k / 4 for k in range(16)])


# --- clear-sky PV ------------------------------------------------------------------------

def _noon_mtu(day: date) -> int:
    """The MTU holding local 12:00 (by stdlib: minutes since local midnight / 15)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=ROME).astimezone(UTC)
    return int((noon - midnight) / QUARTER)


@pytest.mark.parametrize("day", [date(2026, 6, 21), date(2026, 12, 21), date(2026, 3, 20)])
def test_pv_is_zero_at_midnight_positive_at_local_noon_and_at_most_peak(day: date) -> None:
    pv = pv_profile(100.0, day, ROME)
    assert pv.shape == (96,)
    assert pv[0] == 0.0 and pv[-1] == 0.0
    assert pv[_noon_mtu(day)] > 0.0
    assert np.all(pv >= 0.0)
    assert pv.max() <= 100.0


def test_pv_peak_is_the_noon_sun_height_cos_latitude_minus_declination() -> None:
    """Rome 41.9° N: at the June solstice (δ ≈ 23.45°) cos(18.45°) = 0.9486; at the
    December solstice (δ ≈ −23.45°) cos(65.35°) = 0.4171 of the peak power."""
    assert pv_profile(100.0, date(2026, 6, 21), ROME).max() == pytest.approx(94.86, abs=0.1)
    assert pv_profile(100.0, date(2026, 12, 21), ROME).max() == pytest.approx(41.71, abs=0.1)


def test_pv_days_are_longer_in_june_than_in_december() -> None:
    """Daylight in Rome: about 15 h 13 min at the June solstice, 9 h 06 min at the December
    one (almanac, with refraction, which a clear-sky geometry leaves out: allow 30 min)."""
    june = int(np.count_nonzero(pv_profile(10.0, date(2026, 6, 21), ROME)))
    december = int(np.count_nonzero(pv_profile(10.0, date(2026, 12, 21), ROME)))
    assert june / 4 == pytest.approx(15.22, abs=0.5)
    assert december / 4 == pytest.approx(9.1, abs=0.5)
    assert june > december


def test_pv_solar_noon_is_13_00_under_daylight_saving() -> None:
    """12:00 standard time: the MTUs 12:45 and 13:00 CEST are the highest in June, 11:45
    and 12:00 CET in December (symmetric about noon)."""
    june, december = (pv_profile(10.0, date(2026, 6, 21), ROME),
                      pv_profile(10.0, date(2026, 12, 21), ROME))
    assert set(np.argsort(june)[-2:]) == {51, 52}
    assert set(np.argsort(december)[-2:]) == {47, 48}
    assert june[51] == pytest.approx(june[52])


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_pv_follows_the_mtus_of_a_daylight_saving_day(day: date, count: int) -> None:
    assert pv_profile(10.0, day, ROME).shape == (count,)


def test_pv_is_zero_in_the_polar_night_and_never_zero_in_the_midnight_sun() -> None:
    assert not pv_profile(10.0, date(2026, 12, 21), ROME, latitude_deg=80.0).any()
    assert np.all(pv_profile(10.0, date(2026, 6, 21), ROME, latitude_deg=80.0) > 0.0)


@pytest.mark.parametrize(("peak_kw", "latitude_deg", "field"), [
    (-1.0, 41.9, "peak_kw"), (float("nan"), 41.9, "peak_kw"), (10.0, 91.0, "latitude_deg")])
def test_pv_rejects_bad_arguments(peak_kw: float, latitude_deg: float, field: str) -> None:
    with pytest.raises(ForecastError) as error:
        pv_profile(peak_kw, date(2026, 6, 21), ROME, latitude_deg)
    assert error.value.field == field
