"""Market-side KPIs on the hand-computed worked examples of the research digest (Platone
Annex C, KPI_PR_01..04 and KPI_IT_01), their edge cases, the 300/2017/R/ee penalty band
and the target table of the end-of-day report.

Edge-case choice (digest "Edge cases [GAP]"): a ratio whose denominator is 0 (N_total,
N_accept, Setpoint, Σ Baseline, Σ requested) or whose values are not finite is excluded
and counted (``excluded``, ``excluded_terms``, ``excluded_periods``), never scored as 0 %
or ∞. KPI_PR_03 takes down quantities negative-signed by default (Annex C's leading
minus), or as positive magnitudes with ``down_positive=True``; both give Down = 16.0 %.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from dso.domain.kpis import KPI_IT_02_TARGET_PCT, KPI_IT_03_TARGET_PCT, ForecastReliability
from market.domain.kpis import (
    KPI_IT_01_TARGET_PCT,
    KPI_PR_01_TARGET_PCT,
    KPI_PR_02_TARGET_PCT,
    KPI_PR_03_TARGET_PCT,
    KPI_PR_04_TARGET_PCT,
    KPI_TARGETS,
    FlexibilityAvailability,
    FlexibilityEffectiveness,
    KpiError,
    MarketLiquidity,
    ParticipationRate,
    kpi_it_01,
    kpi_pr_01,
    kpi_pr_02,
    kpi_pr_03,
    kpi_pr_04,
    market_liquidity,
    within_penalty_band,
)

# The digest's KPI_PR_03 example: T = 2, N = 2, baselines [10, 15] and [10, 10].
BASELINE = {"t1": {"R1": 10.0, "R2": 15.0}, "t2": {"R1": 10.0, "R2": 10.0}}
UP = {"t1": {"R1": 2.0, "R2": 3.0}, "t2": {"R1": 1.0, "R2": 1.0}}
DOWN_SIGNED = {"t1": {"R1": -2.0, "R2": -1.0}, "t2": {"R1": -4.0, "R2": 0.0}}


# KPI_PR_01 participant recruitment

def test_kpi_pr_01_worked_example() -> None:
    """20 accepted of 200 contacted → 10.0 %, exactly the 10 % target: met."""
    kpi = kpi_pr_01(n_accept=20, n_total=200)
    assert kpi == ParticipationRate(value_pct=10.0, numerator=20, denominator=200,
                                    excluded=0)
    assert KPI_PR_01_TARGET_PCT == 10.0
    assert kpi.meets(KPI_PR_01_TARGET_PCT) is True


def test_kpi_pr_01_below_target_does_not_meet_it() -> None:
    """19 / 200 = 9.5 % < 10 %: the floor is not reached."""
    kpi = kpi_pr_01(19, 200)
    assert kpi.value_pct == pytest.approx(9.5)
    assert kpi.meets(KPI_PR_01_TARGET_PCT) is False


def test_kpi_pr_01_nobody_contacted_is_excluded_and_counted() -> None:
    kpi = kpi_pr_01(0, 0)
    assert kpi == ParticipationRate(None, 0, 0, excluded=1)
    assert kpi.meets(KPI_PR_01_TARGET_PCT) is None


@pytest.mark.parametrize(("n_accept", "n_total"), [(-1, 10), (1, -10), (21, 20)])
def test_kpi_pr_01_rejects_impossible_counts(n_accept: int, n_total: int) -> None:
    with pytest.raises(KpiError, match="N_accept"):
        kpi_pr_01(n_accept, n_total)


# KPI_PR_02 active participants

def test_kpi_pr_02_worked_example() -> None:
    """18 active of 20 accepted → 90 %, below the 100 % target."""
    kpi = kpi_pr_02(n_active=18, n_accept=20)
    assert kpi.value_pct == pytest.approx(90.0)
    assert (kpi.numerator, kpi.denominator, kpi.excluded) == (18, 20, 0)
    assert KPI_PR_02_TARGET_PCT == 100.0
    assert kpi.meets(KPI_PR_02_TARGET_PCT) is False


def test_kpi_pr_02_all_active_meets_target() -> None:
    assert kpi_pr_02(20, 20).meets(KPI_PR_02_TARGET_PCT) is True


def test_kpi_pr_02_nobody_accepted_is_excluded_and_counted() -> None:
    assert kpi_pr_02(0, 0) == ParticipationRate(None, 0, 0, excluded=1)


def test_kpi_pr_02_rejects_more_active_than_accepted() -> None:
    with pytest.raises(KpiError, match="N_active = 21 exceeds N_accept = 20"):
        kpi_pr_02(21, 20)


# KPI_PR_03 flexibility availability

def test_kpi_pr_03_worked_example() -> None:
    """Up: 5/25 = 0.20, 2/20 = 0.10 → 15.0 %. Down: −[(−3/25) + (−4/20)] / 2 = 16.0 %.
    Both below the 20 % target."""
    kpi = kpi_pr_03(UP, DOWN_SIGNED, BASELINE)
    assert kpi.up == FlexibilityAvailability(
        value_pct=pytest.approx(15.0, rel=1e-12), periods=2, resources=2, terms=4,
        excluded_terms=0, excluded_periods=0)
    assert kpi.down.value_pct == pytest.approx(16.0, rel=1e-12)
    assert (kpi.down.periods, kpi.down.terms) == (2, 4)
    assert KPI_PR_03_TARGET_PCT == 20.0
    assert kpi.up.meets(KPI_PR_03_TARGET_PCT) is False
    assert kpi.down.meets(KPI_PR_03_TARGET_PCT) is False


def test_kpi_pr_03_worked_example_with_positive_down_magnitudes() -> None:
    """Down as offers carry it, magnitudes [2, 1] and [4, 0]: still 16.0 %, not −16.0 %."""
    down = {period: {r: -q for r, q in quantities.items()}
            for period, quantities in DOWN_SIGNED.items()}
    kpi = kpi_pr_03(UP, down, BASELINE, down_positive=True)
    assert kpi.down.value_pct == pytest.approx(16.0, rel=1e-12)
    assert kpi.up.value_pct == pytest.approx(15.0, rel=1e-12)


@pytest.mark.parametrize(("down", "down_positive"), [
    ({"t1": {"R1": 2.0}}, False),   # positive under the signed convention
    ({"t1": {"R1": -2.0}}, True),   # negative given as a magnitude
])
def test_kpi_pr_03_rejects_down_of_the_wrong_sign(down: dict[str, dict[str, float]],
                                                  down_positive: bool) -> None:
    with pytest.raises(KpiError, match="down availability"):
        kpi_pr_03({}, down, BASELINE, down_positive=down_positive)


def test_kpi_pr_03_rejects_negative_up() -> None:
    with pytest.raises(KpiError, match=re.escape("up availability -1.0 of 'R1'")):
        kpi_pr_03({"t1": {"R1": -1.0}}, {}, BASELINE)


def test_kpi_pr_03_zero_baseline_period_is_excluded_and_counted() -> None:
    """t2's baseline sums to 0 (10 − 10): not a period of T; Up is t1's 20 %, meeting the
    target."""
    baseline = {"t1": {"R1": 10.0, "R2": 15.0}, "t2": {"R1": 10.0, "R2": -10.0}}
    kpi = kpi_pr_03(UP, {}, baseline).up
    assert kpi.value_pct == pytest.approx(20.0)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (1, 2, 0, 1)
    assert kpi.meets(KPI_PR_03_TARGET_PCT) is True


def test_kpi_pr_03_resource_without_baseline_is_excluded_term() -> None:
    """R2 has no baseline in t1: left out of both sums, so t1 is 2/10 = 0.20; t2 0.10 →
    15 %. Keeping R2's 3 kW against R1's baseline alone would give 25 %."""
    baseline = {"t1": {"R1": 10.0}, "t2": BASELINE["t2"]}
    kpi = kpi_pr_03(UP, {}, baseline).up
    assert kpi.value_pct == pytest.approx(15.0)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (2, 3, 1, 0)


def test_kpi_pr_03_period_without_offers_counts_as_zero_availability() -> None:
    """N is the resources that offered anywhere in the window: in t3 nobody offers, so t3
    scores 0/20 and Up = (0.20 + 0.10 + 0) / 3 = 10 %. Dropping t3 would flatter it."""
    baseline = {**BASELINE, "t3": {"R1": 10.0, "R2": 10.0}}
    kpi = kpi_pr_03(UP, {}, baseline).up
    assert kpi.value_pct == pytest.approx(10.0)
    assert (kpi.periods, kpi.resources, kpi.terms) == (3, 2, 6)


def test_kpi_pr_03_baseline_of_resources_without_availability_is_not_summed() -> None:
    """R3 never offers up: it is not one of the N, so its 75 kW baseline does not dilute
    the share; Up stays 15 %."""
    baseline = {period: {**b, "R3": 75.0} for period, b in BASELINE.items()}
    kpi = kpi_pr_03(UP, {}, baseline).up
    assert kpi.value_pct == pytest.approx(15.0)
    assert (kpi.resources, kpi.excluded_terms) == (2, 0)


def test_kpi_pr_03_availability_outside_the_baseline_is_an_excluded_period() -> None:
    up = {**UP, "t9": {"R1": 5.0}}
    kpi = kpi_pr_03(up, {}, BASELINE).up
    assert kpi.value_pct == pytest.approx(15.0)
    assert (kpi.periods, kpi.excluded_terms, kpi.excluded_periods) == (2, 2, 1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_kpi_pr_03_non_finite_values_are_excluded_terms(bad: float) -> None:
    """R2's availability (t1) and R1's baseline (t2) are non-finite: t1 = 2/10, t2 = 1/10
    → 15 %."""
    up = {"t1": {"R1": 2.0, "R2": bad}, "t2": {"R1": 1.0, "R2": 1.0}}
    baseline = {"t1": {"R1": 10.0, "R2": 15.0}, "t2": {"R1": bad, "R2": 10.0}}
    kpi = kpi_pr_03(up, {}, baseline).up
    assert kpi.value_pct == pytest.approx(15.0)
    assert (kpi.terms, kpi.excluded_terms) == (2, 2)


def test_kpi_pr_03_net_generating_baseline_still_gives_a_positive_share() -> None:
    """A PV-dominated set at −20 kW offering 4 kW up: 4 / |−20| = 20 %."""
    kpi = kpi_pr_03({0: {"PV": 4.0}}, {}, {0: {"PV": -20.0}}).up
    assert kpi.value_pct == pytest.approx(20.0)


def test_kpi_pr_03_empty_input_gives_no_value() -> None:
    kpi = kpi_pr_03({}, {}, {})
    assert kpi.up == kpi.down == FlexibilityAvailability(None, 0, 0, 0, 0, 0)
    assert kpi.up.meets(KPI_PR_03_TARGET_PCT) is None
    # Baselines but no availability at all: N = 0, every period is 0/0.
    assert kpi_pr_03({}, {}, BASELINE).up == FlexibilityAvailability(None, 0, 0, 0, 0, 2)


# KPI_PR_04 flexibility effectiveness

def test_kpi_pr_04_worked_example() -> None:
    """t1: 9/10 = 0.9, 4/5 = 0.8 → 0.85; t2: 10/10 = 1.0, 6/5 = 1.2 → 1.1;
    (0.85 + 1.1) / 2 · 100 = 97.5 %, above the 70 % target."""
    provided = {"t1": {"R1": 9.0, "R2": 4.0}, "t2": {"R1": 10.0, "R2": 6.0}}
    setpoint = {"t1": {"R1": 10.0, "R2": 5.0}, "t2": {"R1": 10.0, "R2": 5.0}}
    kpi = kpi_pr_04(provided, setpoint)
    assert kpi.value_pct == pytest.approx(97.5, rel=1e-12)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (2, 4, 0, 0)
    assert KPI_PR_04_TARGET_PCT == 70.0
    assert kpi.meets(KPI_PR_04_TARGET_PCT) is True


def test_kpi_pr_04_averages_periods_not_terms() -> None:
    """t1: three terms of 1.0; t2: one of 0.2 → (1.0 + 0.2) / 2 = 60 %, below target.
    Pooling the terms would give 3.2 / 4 = 80 %."""
    provided = {1: {"A": 1.0, "B": 2.0, "C": 3.0}, 2: {"A": 1.0}}
    setpoint = {1: {"A": 1.0, "B": 2.0, "C": 3.0}, 2: {"A": 5.0}}
    kpi = kpi_pr_04(provided, setpoint)
    assert kpi.value_pct == pytest.approx(60.0)
    assert kpi.meets(KPI_PR_04_TARGET_PCT) is False


def test_kpi_pr_04_zero_setpoint_is_excluded_and_counted_and_empty_period_too() -> None:
    """t1 keeps R1 (R2's setpoint is 0): 0.9; t2 has only a zero setpoint: excluded.
    Scoring the zero term as 0 would give 45 %; as ∞ the KPI would be ∞."""
    provided = {"t1": {"R1": 9.0, "R2": 3.0}, "t2": {"R1": 2.0}}
    setpoint = {"t1": {"R1": 10.0, "R2": 0.0}, "t2": {"R1": 0.0}}
    kpi = kpi_pr_04(provided, setpoint)
    assert kpi == FlexibilityEffectiveness(pytest.approx(90.0), periods=1, terms=1,
                                           excluded_terms=2, excluded_periods=1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_kpi_pr_04_non_finite_values_are_excluded_terms(bad: float) -> None:
    kpi = kpi_pr_04({0: {"A": 8.0, "B": bad, "C": 1.0}}, {0: {"A": 10.0, "B": 1.0, "C": bad}})
    assert kpi.value_pct == pytest.approx(80.0)
    assert (kpi.terms, kpi.excluded_terms) == (1, 2)


def test_kpi_pr_04_missing_provided_is_excluded_and_provided_only_is_ignored() -> None:
    """B has a setpoint and no reading: excluded, counted. C provided without a setpoint,
    and period t9 with readings only, are not terms. Left: A 0.8 → 80 %."""
    provided = {"t1": {"A": 8.0, "C": 5.0}, "t9": {"A": 1.0}}
    setpoint = {"t1": {"A": 10.0, "B": 4.0}}
    kpi = kpi_pr_04(provided, setpoint)
    assert kpi.value_pct == pytest.approx(80.0)
    assert (kpi.periods, kpi.terms, kpi.excluded_terms, kpi.excluded_periods) == (1, 1, 1, 0)


def test_kpi_pr_04_uses_magnitudes_of_signed_quantities() -> None:
    """A down setpoint of −5 kW met with −4 kW: |−4| / |−5| = 80 %."""
    assert kpi_pr_04({0: {"A": -4.0}}, {0: {"A": -5.0}}).value_pct == pytest.approx(80.0)


def test_kpi_pr_04_empty_input_gives_no_value() -> None:
    assert kpi_pr_04({}, {}) == FlexibilityEffectiveness(None, 0, 0, 0, 0)
    assert kpi_pr_04({}, {0: {}}) == FlexibilityEffectiveness(None, 0, 0, 0, 1)
    assert kpi_pr_04({}, {}).meets(KPI_PR_04_TARGET_PCT) is None


# KPI_PR_04's 300/2017/R/ee penalty band

@pytest.mark.parametrize(("ratio", "passes"), [
    (0.8, True), (1.2, True), (1.0, True),
    (3 / 5, False), (0.6, False), (1.4, False), (0.0, False), (-1.0, False),
])
def test_kpi_pr_04_penalty_band_digest_examples(ratio: float, passes: bool) -> None:
    assert within_penalty_band(ratio) is passes


@pytest.mark.parametrize("ratio", [
    0.7, 7 / 10, 1 - 0.3, 0.567 / 0.81,  # the last is 0.6999999999999998
    1.3, 13 / 10, 1 + 0.3, 2.47 / 1.9,   # the last is 1.3000000000000003
])
def test_kpi_pr_04_penalty_band_edges_pass_despite_round_off(ratio: float) -> None:
    assert within_penalty_band(ratio) is True


@pytest.mark.parametrize("ratio", [0.7 - 1e-6, 1.3 + 1e-6, math.nan, math.inf, -math.inf])
def test_kpi_pr_04_penalty_band_just_outside_or_non_finite_is_penalised(ratio: float) -> None:
    assert within_penalty_band(ratio) is False


def test_kpi_pr_04_penalty_band_width_is_a_parameter() -> None:
    assert within_penalty_band(0.9, band=0.10) is True
    assert within_penalty_band(0.85, band=0.10) is False
    assert within_penalty_band(1.0, band=0.0) is True


@pytest.mark.parametrize("band", [-0.1, math.nan, math.inf])
def test_kpi_pr_04_penalty_band_rejects_a_meaningless_band(band: float) -> None:
    with pytest.raises(KpiError, match="penalty band"):
        within_penalty_band(1.0, band=band)


# KPI_IT_01 market liquidity

def test_kpi_it_01_worked_example() -> None:
    """t1: (5 + 10) / 6 = 2.5; t2: 4 / (2 + 2) = 1.0 → 175 %, above the 150 % target."""
    offered = {"t1": {"O1": 5.0, "O2": 10.0}, "t2": {"O3": 4.0}}
    requested = {"t1": {"Q1": 6.0}, "t2": {"Q2": 2.0, "Q3": 2.0}}
    kpi = market_liquidity(offered, requested)
    assert kpi == MarketLiquidity(value_pct=pytest.approx(175.0, rel=1e-12), periods=2,
                                  offers=3, requests=3, excluded_terms=0,
                                  excluded_periods=0)
    assert KPI_IT_01_TARGET_PCT == 150.0
    assert kpi.meets(KPI_IT_01_TARGET_PCT) is True


def test_kpi_it_01_computes_up_and_down_separately_and_down_sign_is_immaterial() -> None:
    """Up is the worked example (175 %); down, negative-signed, 3 offered against 6
    requested → 50 %, below target."""
    kpi = kpi_it_01(offered_up={"t1": {"O1": 5.0, "O2": 10.0}, "t2": {"O3": 4.0}},
                    requested_up={"t1": {"Q1": 6.0}, "t2": {"Q2": 2.0, "Q3": 2.0}},
                    offered_down={"t1": {"O4": -3.0}},
                    requested_down={"t1": {"Q4": -6.0}})
    assert kpi.up.value_pct == pytest.approx(175.0)
    assert kpi.down.value_pct == pytest.approx(50.0)
    assert kpi.down.meets(KPI_IT_01_TARGET_PCT) is False
    assert market_liquidity({"t1": {"O4": 3.0}}, {"t1": {"Q4": 6.0}}) == kpi.down


def test_kpi_it_01_period_without_requests_is_excluded_and_counted() -> None:
    """t2 has offers but no request, t3 a request of 0: both excluded; t1's 250 % stands,
    and t2's offers are not counted."""
    offered = {"t1": {"O1": 5.0, "O2": 10.0}, "t2": {"O3": 4.0, "O4": 1.0}, "t3": {"O5": 1.0}}
    requested = {"t1": {"Q1": 6.0}, "t3": {"Q2": 0.0}}
    kpi = market_liquidity(offered, requested)
    assert kpi == MarketLiquidity(pytest.approx(250.0), periods=1, offers=2, requests=1,
                                  excluded_terms=0, excluded_periods=2)


def test_kpi_it_01_requests_without_offers_score_zero() -> None:
    """t2 is requested and nobody offers: (2.5 + 0) / 2 = 125 %, an illiquid market."""
    kpi = market_liquidity({"t1": {"O1": 15.0}}, {"t1": {"Q1": 6.0}, "t2": {"Q2": 4.0}})
    assert kpi.value_pct == pytest.approx(125.0)
    assert (kpi.periods, kpi.offers, kpi.requests) == (2, 1, 2)
    assert kpi.meets(KPI_IT_01_TARGET_PCT) is False


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_kpi_it_01_non_finite_quantities_are_excluded_terms(bad: float) -> None:
    kpi = market_liquidity({0: {"O1": 9.0, "O2": bad}}, {0: {"Q1": 6.0, "Q2": bad}})
    assert kpi.value_pct == pytest.approx(150.0)
    assert (kpi.offers, kpi.requests, kpi.excluded_terms) == (1, 1, 2)
    # Exactly 150 % meets the "> 150 %" target, read as a floor.
    assert kpi.meets(KPI_IT_01_TARGET_PCT) is True


def test_kpi_it_01_empty_input_gives_no_value() -> None:
    kpi = kpi_it_01({}, {}, {}, {})
    assert kpi.up == kpi.down == MarketLiquidity(None, 0, 0, 0, 0, 0)
    assert kpi.up.meets(KPI_IT_01_TARGET_PCT) is None


# Targets of the end-of-day report

def test_kpi_targets_cover_all_seven_ids() -> None:
    assert dict(KPI_TARGETS) == {
        "KPI_PR_01": (10.0, "at_least"), "KPI_PR_02": (100.0, "at_least"),
        "KPI_PR_03": (20.0, "at_least"), "KPI_PR_04": (70.0, "at_least"),
        "KPI_IT_01": (150.0, "at_least"),
        "KPI_IT_02": (25.0, "at_most"), "KPI_IT_03": (30.0, "at_most"),
    }
    # The DSO's ceilings are the ones dso.domain.kpis scores against.
    assert KPI_TARGETS["KPI_IT_02"][0] == KPI_IT_02_TARGET_PCT
    assert KPI_TARGETS["KPI_IT_03"][0] == KPI_IT_03_TARGET_PCT
    with pytest.raises(TypeError):
        KPI_TARGETS["KPI_PR_01"] = (5.0, "at_least")  # type: ignore[index]


@pytest.mark.parametrize(("kpi_id", "result"), [
    ("KPI_PR_01", ParticipationRate(None, 0, 0, 0)),
    ("KPI_PR_02", ParticipationRate(None, 0, 0, 0)),
    ("KPI_PR_03", FlexibilityAvailability(None, 0, 0, 0, 0, 0)),
    ("KPI_PR_04", FlexibilityEffectiveness(None, 0, 0, 0, 0)),
    ("KPI_IT_01", MarketLiquidity(None, 0, 0, 0, 0, 0)),
    ("KPI_IT_02", ForecastReliability(None, 0, 0, 0, 0)),
    ("KPI_IT_03", ForecastReliability(None, 0, 0, 0, 0)),
])
def test_each_kpi_meets_in_the_direction_its_target_says(
        kpi_id: str, result: ParticipationRate | FlexibilityAvailability
        | FlexibilityEffectiveness | MarketLiquidity | ForecastReliability) -> None:
    """Just above the target meets an at-least KPI and fails an at-most one; just below,
    the reverse; exactly on it meets both."""
    target, sense = KPI_TARGETS[kpi_id]
    above, below, on = (replace(result, value_pct=value)
                        for value in (target + 0.5, target - 0.5, target))
    assert above.meets(target) is (sense == "at_least")
    assert below.meets(target) is (sense == "at_most")
    assert on.meets(target) is True
