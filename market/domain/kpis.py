"""The market-side KPIs of the end-of-day report: participant recruitment and activity,
flexibility availability and effectiveness, market liquidity (Platone D3.3 Annex C,
KPI_PR_01..04 and KPI_IT_01), the TSO penalty band and every KPI's target.

Each KPI is computed separately per service (congestion, voltage): the caller filters the
inputs to one service. A term or period whose denominator is 0 (or whose values are not
finite) has no ratio: it is excluded and counted, never scored as 0 % or ∞ (research
digest, "Edge cases").
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

from dso.domain.kpis import (
    KPI_IT_02_TARGET_PCT,
    KPI_IT_03_TARGET_PCT,
    KpiError,
    mean_of_period_means,
)

__all__ = [
    "KPI_IT_01_TARGET_PCT",
    "KPI_PR_01_TARGET_PCT",
    "KPI_PR_02_TARGET_PCT",
    "KPI_PR_03_TARGET_PCT",
    "KPI_PR_04_TARGET_PCT",
    "KPI_TARGETS",
    "PENALTY_BAND",
    "ByDirection",
    "FlexibilityAvailability",
    "FlexibilityEffectiveness",
    "KpiError",
    "MarketLiquidity",
    "ParticipationRate",
    "Quantities",
    "TargetSense",
    "kpi_it_01",
    "kpi_pr_01",
    "kpi_pr_02",
    "kpi_pr_03",
    "kpi_pr_04",
    "market_liquidity",
    "within_penalty_band",
]

# Floors, %: higher is better (Platone Annex C). IT_01's "> 150 %" is read as ≥ 150 %.
KPI_PR_01_TARGET_PCT = 10.0
KPI_PR_02_TARGET_PCT = 100.0
KPI_PR_03_TARGET_PCT = 20.0
KPI_PR_04_TARGET_PCT = 70.0
KPI_IT_01_TARGET_PCT = 150.0

TargetSense = Literal["at_least", "at_most"]

KPI_TARGETS: Mapping[str, tuple[float, TargetSense]] = MappingProxyType({
    "KPI_PR_01": (KPI_PR_01_TARGET_PCT, "at_least"),
    "KPI_PR_02": (KPI_PR_02_TARGET_PCT, "at_least"),
    "KPI_PR_03": (KPI_PR_03_TARGET_PCT, "at_least"),
    "KPI_PR_04": (KPI_PR_04_TARGET_PCT, "at_least"),
    "KPI_IT_01": (KPI_IT_01_TARGET_PCT, "at_least"),
    # The forecast errors are the DSO's; their ceilings are defined once, in dso.
    "KPI_IT_02": (KPI_IT_02_TARGET_PCT, "at_most"),
    "KPI_IT_03": (KPI_IT_03_TARGET_PCT, "at_most"),
})
"""Per KPI id, its target in % and whether a value must be at least or at most it."""

# Italian TSO pilot regulation 300/2017/R/ee: delivered vs setpoint within ±30 %.
PENALTY_BAND = 0.30
# Round-off allowance at the band's edges: 0.567 kWh / 0.81 kWh is 0.6999999999999998 in
# floating point, yet exactly 70 % of the setpoint, and must not be penalised.
_BAND_TOLERANCE = 1e-9

Quantities = Mapping[Hashable, Mapping[str, float]]
"""Per period (an MTU index, a UTC instant…), per item (PoD, resource, offer or request
id), a quantity in kW, kVAr or kWh; the mappings a KPI compares use the same unit."""

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ByDirection(Generic[ResultT]):
    """A KPI computed separately for upward and downward flexibility.

    Attributes:
        up: the KPI for up (increase generation / decrease demand).
        down: the KPI for down (decrease generation / increase demand).
    """

    up: ResultT
    down: ResultT


class _Floor:
    """A KPI whose target is a floor: met when its value reaches it."""

    value_pct: float | None

    def meets(self, target_pct: float) -> bool | None:
        """Whether the value reaches the floor ``target_pct`` (%); None if unscored."""
        return None if self.value_pct is None else self.value_pct >= target_pct


@dataclass(frozen=True)
class ParticipationRate(_Floor):
    """A participant share (KPI_PR_01 or KPI_PR_02) and the counts it rests on.

    Attributes:
        value_pct: numerator / denominator · 100, in %; None when the denominator is 0.
        numerator: customers counted (accepted for PR_01, active for PR_02).
        denominator: customers they are a share of (contacted for PR_01, accepted for
            PR_02).
        excluded: 1 when the share was left out because the denominator is 0, else 0.
    """

    value_pct: float | None
    numerator: int
    denominator: int
    excluded: int



@dataclass(frozen=True)
class FlexibilityAvailability(_Floor):
    """KPI_PR_03 in one direction and what it rests on.

    Attributes:
        value_pct: (1/T) Σ_t [Σ_i Avail_{i,t} / |Σ_i Baseline_{i,t}|] · 100, in %, a
            positive share in either direction; None when no period is scored.
        periods: T, the periods scored.
        resources: N, the resources that made flexibility available in this direction.
        terms: the (resource, period) terms summed in the scored periods.
        excluded_terms: terms left out: no baseline for the resource in the period, or a
            non-finite availability or baseline.
        excluded_periods: periods left out because their baseline sum is 0 or none of
            their terms could be summed.
    """

    value_pct: float | None
    periods: int
    resources: int
    terms: int
    excluded_terms: int
    excluded_periods: int



@dataclass(frozen=True)
class FlexibilityEffectiveness(_Floor):
    """KPI_PR_04 and what it rests on.

    Attributes:
        value_pct: (1/T) Σ_t (1/N_t) Σ_i |Q_provided_{i,t}| / |Setpoint_{i,t}| · 100, in %;
            None when no period has a term.
        periods: T, the periods scored.
        terms: Σ_t N_t, the (resource, period) terms scored.
        excluded_terms: setpoint terms left out: setpoint 0, a non-finite setpoint or
            provided quantity, or no provided quantity for the resource.
        excluded_periods: periods with setpoints left out because none of their terms
            could be scored.
    """

    value_pct: float | None
    periods: int
    terms: int
    excluded_terms: int
    excluded_periods: int



@dataclass(frozen=True)
class MarketLiquidity(_Floor):
    """KPI_IT_01 in one direction and what it rests on.

    Attributes:
        value_pct: (1/T) Σ_t [Σ_i |offered_{i,t}| / Σ_j |requested_{j,t}|] · 100, in %;
            None when no period is scored.
        periods: T, the periods scored.
        offers: offer terms summed in the scored periods (Annex C: their number matters as
            well as their quantity).
        requests: request terms summed in the scored periods.
        excluded_terms: offer or request terms left out for a non-finite quantity.
        excluded_periods: periods left out because their requested sum is 0 (including
            periods with offers and no request).
    """

    value_pct: float | None
    periods: int
    offers: int
    requests: int
    excluded_terms: int
    excluded_periods: int



def _participation(numerator: int, denominator: int, names: tuple[str, str]
                   ) -> ParticipationRate:
    if numerator < 0 or denominator < 0:
        raise KpiError(f"{names[0]} = {numerator} and {names[1]} = {denominator} must not "
                       "be negative")
    if numerator > denominator:
        raise KpiError(f"{names[0]} = {numerator} exceeds {names[1]} = {denominator}: they "
                       "are not a subset of them")
    if denominator == 0:
        return ParticipationRate(None, numerator, denominator, excluded=1)
    return ParticipationRate(numerator / denominator * 100, numerator, denominator,
                             excluded=0)


def kpi_pr_01(n_accept: int, n_total: int) -> ParticipationRate:
    """KPI_PR_01 Participant Recruitment (Platone Annex C).

    R = N_accept / N_total · 100, computed when an engagement process completes, from the
    SCD's CRM data. Target: ≥ 10 % (``KPI_PR_01_TARGET_PCT``).

    Args:
        n_accept: customers who accepted to take part (count).
        n_total: customers contacted (count).

    Returns:
        The share in %; ``value_pct`` None and ``excluded`` 1 when nobody was contacted.

    Raises:
        KpiError: if a count is negative or more accepted than were contacted.
    """
    return _participation(n_accept, n_total, ("N_accept", "N_total"))


def kpi_pr_02(n_active: int, n_accept: int) -> ParticipationRate:
    """KPI_PR_02 Active Participants (Platone Annex C).

    R = N_active / N_accept · 100, daily. Annex C leaves "active" to the demo leaders; its
    data table reads "customers providing offers actively", so the caller counts the
    accepted customers with at least one offer in the period (research digest [INFER]).
    Target: ≥ 100 % (``KPI_PR_02_TARGET_PCT``).

    Args:
        n_active: accepted customers who were active in the period (count).
        n_accept: customers who accepted to take part, from the SCD (count).

    Returns:
        The share in %; ``value_pct`` None and ``excluded`` 1 when nobody accepted.

    Raises:
        KpiError: if a count is negative or more are active than accepted.
    """
    return _participation(n_active, n_accept, ("N_active", "N_accept"))


def _finite(*values: float) -> bool:
    return all(math.isfinite(value) for value in values)


def _availability(available: Quantities, baseline: Quantities, sign: float,
                  direction: str) -> FlexibilityAvailability:
    """One direction of KPI_PR_03; ``sign`` turns the inputs' sign into a positive share
    (−1 for negative-signed down quantities, the Annex's leading minus)."""
    for period, quantities in available.items():
        for resource, quantity in quantities.items():
            # A quantity of the wrong sign means the caller mixed conventions; summing it
            # would silently net it off the others. (A non-finite one is excluded below.)
            if math.isfinite(quantity) and sign * quantity < 0:
                raise KpiError(f"{direction} availability {quantity} of {resource!r} in "
                               f"period {period!r} has the wrong sign for the convention "
                               "used")
    # N has no t subscript in Annex C (IT_02 has N_t): the resources that made flexibility
    # available anywhere in the examined window. One that offers nothing in a period still
    # brings its baseline, so a period without offers lowers the KPI instead of vanishing.
    resources = list(dict.fromkeys(resource for quantities in available.values()
                                   for resource in quantities))
    # T covers every period the baseline or the offers name; the baseline normally covers
    # the whole delivery day, so offers outside it are a gap and must show as excluded.
    periods = list(baseline) + [period for period in available if period not in baseline]
    shares: list[float] = []
    terms = excluded_terms = excluded_periods = 0
    for period in periods:
        available_t = available.get(period, {})
        baseline_t = baseline.get(period, {})
        offered: list[float] = []
        base: list[float] = []
        for resource in resources:
            quantity = available_t.get(resource, 0.0)
            reference = baseline_t.get(resource)
            # Without its baseline a resource's availability has nothing to be a share of;
            # keeping it in the numerator alone would inflate the KPI.
            if reference is None or not _finite(quantity, reference):
                excluded_terms += 1
                continue
            offered.append(quantity)
            base.append(reference)
        # Divide by the magnitude so that a net-generating set of resources (a negative
        # baseline in the load convention) still yields a positive share.
        total_base = abs(math.fsum(base))
        if not base or total_base == 0:
            excluded_periods += 1
            continue
        terms += len(base)
        shares.append(sign * math.fsum(offered) / total_base)
    value = math.fsum(shares) / len(shares) * 100 if shares else None
    return FlexibilityAvailability(value_pct=value, periods=len(shares),
                                   resources=len(resources), terms=terms,
                                   excluded_terms=excluded_terms,
                                   excluded_periods=excluded_periods)


def kpi_pr_03(available_up: Quantities, available_down: Quantities, baseline: Quantities,
              *, down_positive: bool = False) -> ByDirection[FlexibilityAvailability]:
    """KPI_PR_03 Flexibility Availability, up and down (Platone Annex C).

        Up   =  (1/T) Σ_t [Σ_{i=1..N} Avail_up_{i,t}   / Σ_{i=1..N} Baseline_{i,t}] · 100
        Down = −(1/T) Σ_t [Σ_{i=1..N} Avail_down_{i,t} / Σ_{i=1..N} Baseline_{i,t}] · 100

    Sign convention: by default, as in Annex C, up quantities are ≥ 0 and down quantities
    are ≤ 0 (cf. the digest's ``downQ: -24``), and the leading minus makes Down a positive
    share. With ``down_positive=True`` down quantities are magnitudes ≥ 0, as market
    offers carry them (a positive quantity plus a direction), and no minus is applied: the
    same availability gives the same positive Down either way. A quantity of the wrong sign
    for the convention raises rather than netting off.

    N is the resources present in the direction's availability mapping (an entry of 0
    counts), fixed over the window; each sum runs over them, a resource absent from a
    period's availability offering 0 there. T is the periods named by the baseline or the
    availability. A term without a baseline or with a non-finite value is excluded and
    counted; a period whose baseline sum is 0 is excluded and counted. The baseline sum is
    taken in magnitude. Target: ≥ 20 % (``KPI_PR_03_TARGET_PCT``).

    Args:
        available_up: available upward flexibility per period, per resource, ≥ 0 (kW or
            kVAr), from the offers.
        available_down: available downward flexibility per period, per resource, ≤ 0
            (≥ 0 with ``down_positive``), same unit.
        baseline: baseline per period, per resource, same unit, from the SCD.
        down_positive: whether down quantities are given as positive magnitudes.

    Returns:
        Up and down, each in % (positive) with its counts; a ``value_pct`` is None when no
        period is scored.

    Raises:
        KpiError: if an up quantity is negative, or a down quantity has the wrong sign.
    """
    return ByDirection(
        up=_availability(available_up, baseline, 1.0, "up"),
        down=_availability(available_down, baseline, 1.0 if down_positive else -1.0,
                           "down"))


def kpi_pr_04(provided: Quantities, setpoint: Quantities) -> FlexibilityEffectiveness:
    """KPI_PR_04 Flexibility Effectiveness (Platone Annex C).

        FE = (1/T) Σ_t (1/N_t) Σ_{i=1..N_t} |Q_provided_{i,t}| / |Setpoint_{i,t}| · 100

    The setpoints set the terms: each (resource, period) with a setpoint is scored against
    the quantity it provided (delivered flexibility = baseline − measured, per the
    settlement principle). A term with setpoint 0, a non-finite value, or no provided
    quantity (a missing reading, not a proven zero) is excluded and counted; a period with
    setpoints but no term left is excluded and counted. Provided quantities without a
    setpoint are not terms. Target: ≥ 70 % (``KPI_PR_04_TARGET_PCT``), after the ±30 %
    band of 300/2017/R/ee (``within_penalty_band``).

    Args:
        provided: flexibility provided per period, per resource (kW, kVAr or kWh).
        setpoint: flexibility requested per period, per resource, same unit.

    Returns:
        The KPI in % with its counts; ``value_pct`` is None when no period is scored.
    """
    mean = mean_of_period_means(setpoint, provided,
                                lambda target, quantity: abs(quantity) / abs(target)
                                if target != 0 else None)
    return FlexibilityEffectiveness(value_pct=mean.value_pct, periods=mean.periods,
                                    terms=mean.terms, excluded_terms=mean.excluded_terms,
                                    excluded_periods=mean.excluded_periods)


def within_penalty_band(ratio: float, band: float = PENALTY_BAND) -> bool:
    """Whether a delivered-to-setpoint ratio escapes the TSO penalty (Italian pilot
    regulation 300/2017/R/ee, the rationale of KPI_PR_04 in Platone Annex C).

    No penalty when ratio ∈ [1 − band, 1 + band], edges included: with the default ±30 %,
    0.7 and 1.3 pass, 0.6 and 1.4 are penalised. The edges allow 1e-9 of round-off, so a
    ratio computed as 0.567 / 0.81 (0.6999999999999998) still passes.

    Args:
        ratio: delivered energy / setpoint energy over the relevant (daily) period, as a
            fraction (1.0 = exactly as set).
        band: half-width of the tolerated band, as a fraction (0.30 = ±30 %).

    Returns:
        True if no penalty applies; False if one does, or the ratio is not finite.

    Raises:
        KpiError: if ``band`` is negative or not finite.
    """
    if not math.isfinite(band) or band < 0:
        raise KpiError(f"penalty band {band} must be a finite fraction ≥ 0")
    if not math.isfinite(ratio):
        return False
    return 1 - band - _BAND_TOLERANCE <= ratio <= 1 + band + _BAND_TOLERANCE


def market_liquidity(offered: Quantities, requested: Quantities) -> MarketLiquidity:
    """KPI_IT_01 in one direction (Platone Annex C):

        ML = (1/T) Σ_t [Σ_{i=1..N} |offered_{i,t}| / Σ_{j=1..R} |requested_{j,t}|] · 100

    Quantities are summed in magnitude (the Annex's bars were lost in extraction; the
    digest allows them inside the sums), so either sign convention gives the same
    positive share. T is the periods named by the offers or the requests. A non-finite
    quantity is an excluded term; a period whose requested sum is 0 is excluded and
    counted, its offers unscored. A period with requests and no offer scores 0 %.

    Args:
        offered: offered flexibility per period, per offer (kW or kVAr), from the MP.
        requested: flexibility requested by the DSO and TSO per period, per request, same
            unit.

    Returns:
        The KPI in % with its counts; ``value_pct`` is None when no period is scored.
    """
    periods = list(requested) + [period for period in offered if period not in requested]
    shares: list[float] = []
    offers = requests = excluded_terms = excluded_periods = 0
    for period in periods:
        sides: list[list[float]] = []
        for quantities in (offered.get(period, {}), requested.get(period, {})):
            finite = [abs(q) for q in quantities.values() if math.isfinite(q)]
            excluded_terms += len(quantities) - len(finite)
            sides.append(finite)
        offered_t, requested_t = sides
        total_requested = math.fsum(requested_t)
        if total_requested == 0:
            excluded_periods += 1
            continue
        offers += len(offered_t)
        requests += len(requested_t)
        shares.append(math.fsum(offered_t) / total_requested)
    value = math.fsum(shares) / len(shares) * 100 if shares else None
    return MarketLiquidity(value_pct=value, periods=len(shares), offers=offers,
                           requests=requests, excluded_terms=excluded_terms,
                           excluded_periods=excluded_periods)


def kpi_it_01(offered_up: Quantities, requested_up: Quantities, offered_down: Quantities,
              requested_down: Quantities) -> ByDirection[MarketLiquidity]:
    """KPI_IT_01 Market Liquidity, ML_Up and ML_Down (Platone Annex C), each by
    ``market_liquidity``. Target: > 150 % (``KPI_IT_01_TARGET_PCT``, taken as ≥).

    Args:
        offered_up: upward offers per period, per offer (kW or kVAr).
        requested_up: upward DSO and TSO requests per period, per request, same unit.
        offered_down: downward offers per period, per offer, same unit.
        requested_down: downward requests per period, per request, same unit.

    Returns:
        Up and down, each in % with its counts.
    """
    return ByDirection(up=market_liquidity(offered_up, requested_up),
                       down=market_liquidity(offered_down, requested_down))
