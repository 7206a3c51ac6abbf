"""The Aggregator Platform's offer builder (Platone FR_AP_MI&O_2 "build offers and send them
to the MP"; D3.3 A.2 "aggregated price curves: price steps relating a quantity of
flexibility to its price, per MTU"): every offer it builds must pass the market's own
arrival rules (market.domain.submissions.check_offer) in an open session."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.domain.baselines import AggregatorError, uploaded_baseline
from aggregator.domain.events import BaselineUploaded
from aggregator.domain.offers import CostCurve, build_offer, build_portfolio_offers, offer_id
from market.domain.calendar import SessionSlot, day_sessions, delivery_mtus
from market.domain.events import FlexOfferSubmitted
from market.domain.submissions import PodView, check_offer

ROME = ZoneInfo("Europe/Rome")
DAY = date(2026, 6, 10)
DA, *RT = day_sessions(DAY, ROME)
POD = PodView(pod_id="POD-1", aggregator_id="AGG-1", primary_substation="PS-1",
              mv_feeder="PS-1-F1", secondary_substation="SS-5", up_p_kw=5.0, down_p_kw=3.0,
              up_q_kvar=2.0, down_q_kvar=0.0)
CURVE = CostCurve(((0.4, 100.0), (1.0, 150.0)))
IDENTIFIER = re.compile(r"^[A-Za-z0-9._:-]+$")


def _baseline(pod_id: str = "POD-1", day: date = DAY) -> BaselineUploaded:
    return uploaded_baseline(pod_id, "AGG-1", day, [(10.0, 1.0)] * len(delivery_mtus(day, ROME)),
                             ROME)


def _accepted(offer: FlexOfferSubmitted, session: SessionSlot, pod: PodView = POD) -> None:
    """The market takes the offer an hour after the session opens."""
    check_offer(offer, session, pod, session.opens_at + timedelta(hours=1), session.kind.value)


@pytest.mark.parametrize(("steps", "field"), [
    ((), "steps"),
    (((0.5, 10.0),), "steps"),  # does not reach 1
    (((0.5, 10.0), (0.5, 20.0), (1.0, 30.0)), "steps.1"),  # share not increasing
    (((0.6, 10.0), (0.4, 20.0), (1.0, 30.0)), "steps.1"),
    (((0.0, 10.0), (1.0, 20.0)), "steps.0"),  # a zero share
    (((1.2, 10.0),), "steps.0"),
    (((0.5, 20.0), (1.0, 10.0)), "steps.1"),  # price decreasing
    (((1.0, -1.0),), "steps.0"),
    (((1.0, float("nan")),), "steps.0"),
    (((float("nan"), 1.0),), "steps.0"),
    (((1.0, 2e6),), "steps.0"),
    (tuple(((i + 1) / 11, 10.0) for i in range(11)), "steps"),  # 11 steps × 100 MTUs > 1000
])
def test_fr_ap_mio_2_a_bad_cost_curve_is_refused(steps: tuple[tuple[float, float], ...],
                                                 field: str) -> None:
    """Platone A.2 price steps: cumulative shares rising to 1, prices not falling."""
    with pytest.raises(AggregatorError) as caught:
        CostCurve(steps)
    assert (caught.value.code, caught.value.field) == ("COST_CURVE", field)


def test_a_cost_curve_splits_the_available_flexibility_by_its_shares() -> None:
    assert CURVE.split(4.0) == [(pytest.approx(1.6), 100.0), (pytest.approx(2.4), 150.0)]
    assert CostCurve.flat(80.0).split(3.0) == [(3.0, 80.0)]
    thirds = CostCurve(((1 / 3, 10.0), (2 / 3, 20.0), (1.0, 30.0))).split(0.3)
    assert [price for _, price in thirds] == [10.0, 20.0, 30.0]
    assert sum(q for q, _ in thirds) == pytest.approx(0.3, abs=1e-15)
    # A last share within round-off of 1 still offers the whole limit, not 0.1 W less.
    almost = CostCurve(((0.5, 1.0), (1 - 1e-10, 2.0))).split(1e6)
    assert almost[-1][0] == 1e6 - almost[0][0] == 5e5


def test_fr_ap_mio_2_a_day_ahead_offer_prices_every_mtu_and_the_market_accepts_it() -> None:
    """FR_AP_MI&O_2: 5 kW up × availability 0.8 = 4 kW per MTU, 40 % at 100 €/MWh and 60 %
    at 150 €/MWh, in each of the 96 MTUs of 10 June 2026."""
    offer = build_offer(POD, _baseline(), DA, CURVE, direction="up", quantity_type="P",
                        zone=ROME, availability=0.8)
    assert offer is not None
    assert offer.offer_id == "OFR-DA-2026-06-10-POD-1-up-P"
    assert (offer.session_id, offer.aggregator_id, offer.pod_id) == ("DA-2026-06-10", "AGG-1",
                                                                     "POD-1")
    assert (offer.direction, offer.quantity_type, offer.divisible) == ("up", "P", True)
    assert offer.player_service_id == "AGG-1::POD-1::dayAhead::2026-06-10T00:00:00.000+02:00"
    assert len(offer.steps) == 192
    assert [(s.mtu, s.price_eur_per_mwh) for s in offer.steps[:4]] == [
        (0, 100.0), (0, 150.0), (1, 100.0), (1, 150.0)]
    assert [s.quantity for s in offer.steps[:2]] == [pytest.approx(1.6), pytest.approx(2.4)]
    assert {s.mtu for s in offer.steps} == set(range(96))
    _accepted(offer, DA)


def test_fr_ap_mio_2_a_real_time_offer_covers_its_window_only() -> None:
    """RT window 4 of 10 June delivers 16:00–20:00 local, MTUs 64–79."""
    offer = build_offer(POD, _baseline(), RT[4], CostCurve.flat(90.0), direction="up",
                        quantity_type="Q", zone=ROME)
    assert offer is not None
    assert [(s.mtu, s.quantity, s.price_eur_per_mwh) for s in offer.steps] == [
        (m, 2.0, 90.0) for m in range(64, 80)]
    assert offer.player_service_id == "AGG-1::POD-1::realTime::2026-06-10T16:00:00.000+02:00"
    assert offer.offer_id == "OFR-RT-2026-06-10-4-POD-1-up-Q"
    _accepted(offer, RT[4])


def test_fr_ap_mio_2_the_full_limit_passes_the_markets_max_flexibility_check() -> None:
    """Ten thirds-like steps on the 100-MTU day: 1000 steps, summing to the limit exactly
    enough for check_offer (no ABOVE_MAX_FLEXIBILITY from round-off)."""
    autumn = date(2026, 10, 25)
    curve = CostCurve(tuple(((i + 1) / 10, 10.0 * (i + 1)) for i in range(10)))
    pod = replace(POD, up_p_kw=0.7)
    offer = build_offer(pod, _baseline(day=autumn), day_sessions(autumn, ROME)[0], curve,
                        direction="up", quantity_type="P", zone=ROME)
    assert offer is not None
    assert len(offer.steps) == 1000
    assert {s.mtu for s in offer.steps} == set(range(100))
    _accepted(offer, day_sessions(autumn, ROME)[0], pod)


def test_fr_ap_mio_2_a_discrete_pod_offers_all_or_nothing() -> None:
    offer = build_offer(POD, _baseline(), DA, CURVE, direction="down", quantity_type="P",
                        zone=ROME, flexibility_type="discrete")
    assert offer is not None
    assert offer.divisible is False
    assert offer.steps[0].quantity == pytest.approx(1.2)  # 40 % of 3 kW down


@pytest.mark.parametrize(("direction", "quantity_type", "availability"), [
    ("down", "Q", 1.0),  # no down Q declared
    ("up", "P", 0.0),  # the customer made nothing available
])
def test_fr_ap_mio_2_nothing_to_offer_gives_no_offer(direction: str, quantity_type: str,
                                                     availability: float) -> None:
    assert build_offer(POD, _baseline(), DA, CURVE, direction=direction,  # type: ignore[arg-type]
                       quantity_type=quantity_type,  # type: ignore[arg-type]
                       zone=ROME, availability=availability) is None


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"baseline": "other pod"}, "BASELINE_MISMATCH", "baseline"),
    ({"baseline": "other day"}, "BASELINE_MISMATCH", "baseline"),
    ({"availability": 1.5}, "AVAILABILITY", "availability"),
    ({"availability": float("nan")}, "AVAILABILITY", "availability"),
    ({"direction": "sideways"}, "OFFER_KIND", "direction"),
    ({"quantity_type": "S"}, "OFFER_KIND", "quantity_type"),
    ({"pod": "inactive"}, "POD_INACTIVE", "pod"),
])
def test_an_offer_that_cannot_be_built_names_the_argument(change: dict[str, object],
                                                          code: str, field: str) -> None:
    baseline = {"other pod": _baseline("POD-2"),
                "other day": _baseline(day=DAY + timedelta(days=1))}.get(
        str(change.get("baseline")), _baseline())
    pod = replace(POD, active=False) if change.get("pod") == "inactive" else POD
    with pytest.raises(AggregatorError) as caught:
        build_offer(pod, baseline, DA, CURVE,
                    direction=change.get("direction", "up"),  # type: ignore[arg-type]
                    quantity_type=change.get("quantity_type", "P"),  # type: ignore[arg-type]
                    zone=ROME, availability=change.get("availability", 1.0))  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.field) == (code, field)


def test_fr_ap_mio_2_a_re_submission_is_the_same_offer() -> None:
    """FR_AP_MI&O_2 step 3 posts at the scheduled time; posting again must not duplicate."""
    first = build_offer(POD, _baseline(), DA, CURVE, direction="up", quantity_type="P",
                        zone=ROME)
    again = build_offer(POD, _baseline(), DA, CURVE, direction="up", quantity_type="P",
                        zone=ROME)
    assert first == again


def test_a_long_pod_id_still_gives_a_valid_deterministic_offer_id() -> None:
    long_a, long_b = "P" * 99 + "A", "P" * 99 + "B"
    ids = [offer_id("RT-2026-06-10-4", pod, "down", "Q") for pod in (long_a, long_b, long_a)]
    assert ids[0] == ids[2] != ids[1]
    assert all(len(i) <= 100 and IDENTIFIER.match(i) for i in ids)
    assert ids[0].startswith("OFR-RT-2026-06-10-4-") and ids[0].endswith("-down-Q")
    pod = replace(POD, pod_id=long_a)
    offer = build_offer(pod, _baseline(long_a), DA, CURVE, direction="up", quantity_type="P",
                        zone=ROME)
    assert offer is not None and offer.offer_id == offer_id("DA-2026-06-10", long_a, "up", "P")


def _portfolio() -> dict[str, PodView]:
    return {pod.pod_id: pod for pod in (
        replace(POD, pod_id="POD-A"),
        replace(POD, pod_id="POD-B"),  # not flagged by the operator
        replace(POD, pod_id="POD-C"),  # no baseline
        replace(POD, pod_id="POD-D"),  # baseline for another day
        replace(POD, pod_id="POD-E"),  # no cost curve
        replace(POD, pod_id="POD-F", active=False),  # unregistered
        replace(POD, pod_id="POD-G", up_p_kw=0.0),  # down only
    )}


def test_fr_ap_mio_2_the_portfolio_offers_the_enabled_pods_with_baseline_and_price() -> None:
    """FR_AP_MI&O_2 steps 1–3: only flagged PoDs, each with a baseline of the delivery day
    and a cost curve; ordered by PoD, then direction."""
    pods = _portfolio()
    baselines = {pod_id: _baseline(pod_id) for pod_id in pods if pod_id != "POD-C"}
    baselines["POD-D"] = _baseline("POD-D", DAY + timedelta(days=1))
    curves = {pod_id: CURVE for pod_id in pods if pod_id != "POD-E"}
    enabled = set(pods) - {"POD-B"}
    offers = build_portfolio_offers(reversed(list(pods.values())), baselines, DA, curves, ROME,
                                    enabled=enabled, availability={"POD-A": 0.5},
                                    flexibility_types={"POD-G": "discrete"})
    assert [o.offer_id for o in offers] == [
        "OFR-DA-2026-06-10-POD-A-up-P", "OFR-DA-2026-06-10-POD-A-down-P",
        "OFR-DA-2026-06-10-POD-G-down-P"]
    assert offers[0].steps[0].quantity == pytest.approx(1.0)  # 40 % of 5 kW × 0.5
    assert (offers[1].divisible, offers[2].divisible) == (True, False)
    for offer in offers:
        _accepted(offer, DA, pods[offer.pod_id])


def test_fr_ap_mio_2_without_flags_every_eligible_pod_is_offered() -> None:
    pods = _portfolio()
    baselines = {pod_id: _baseline(pod_id) for pod_id in pods}
    offers = build_portfolio_offers(pods.values(), baselines, RT[0], {"POD-A": CURVE,
                                    "POD-B": CURVE}, ROME, directions=("down",),
                                    quantity_types=("P", "Q"))
    # POD-A and POD-B have no down Q (0 kVAr), so only their down P is offered.
    assert [o.offer_id for o in offers] == ["OFR-RT-2026-06-10-0-POD-A-down-P",
                                           "OFR-RT-2026-06-10-0-POD-B-down-P"]
