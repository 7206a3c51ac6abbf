"""The aggregator platform on the real stack: offers posted when a session opens
(FR_AP_MI&O_2) and setpoints issued 15 minutes before a 4-hour window (FR_AP_A_3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from aggregator.domain.dispatch import issue_time, window_mtus
from aggregator.domain.events import CostStep, PodOfferTermsSet
from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow
from market.domain.calendar import SessionKind, day_sessions
from market.domain.events import PriceStep, SessionOpened
from market.store.models import FlexOfferRow
from tests.builders import (
    make_baseline,
    make_offer_submitted,
    make_validated_award,
    make_validated_outcome,
)
from tests.integration.market.harness import running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
ROME = ZoneInfo("Europe/Rome")
DAY = date(2026, 12, 10)


def _terms(pod: str, enabled: bool) -> PodOfferTermsSet:
    return PodOfferTermsSet(pod_id=pod, aggregator_id="AGG-1", enabled=enabled,
                            availability=0.5, directions=("up",), quantity_types=("P",),
                            cost_curve=(CostStep(share=0.5, price_eur_per_mwh=80.0),
                                        CostStep(share=1.0, price_eur_per_mwh=120.0)))


def test_fr_ap_mio_2_enabled_pods_are_offered_when_a_session_opens(
        stack: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """FR_AP_MI&O_2: POD-000001 (enabled, half of its 5 kW up, at 80 then 120 €/MWh) is
    offered in every MTU of the day-ahead session; POD-000002 (disabled) is not."""
    session = next(s for s in day_sessions(DAY, ROME) if s.kind is SessionKind.DAY_AHEAD)
    opened = SessionOpened(session_id=session.session_id, market_type="DA",
                           delivery_day=DAY, first_mtu=0, mtu_count=96,
                           opens_at=session.opens_at, gate_closes_at=session.gate_closes_at)
    with running_market(stack, tmp_path, processors="projector,offer_submission") as market:
        publish(market.settings, [
            new_event(_terms("POD-000001", True), actor="AGG-1"),
            new_event(_terms("POD-000002", False), actor="AGG-1"),
            new_event(make_baseline(DAY), actor="AGG-1"),
            new_event(make_baseline(DAY, pod_id="POD-000002"), actor="AGG-1")])
        market.wait_until(select(func.count()).select_from(EventRow).where(
            EventRow.type == "BaselineUploaded"), 2, "terms and baselines projected")
        publish(market.settings, [new_event(opened, actor="flexmarket-scheduler",
                                            occurred_at=session.opens_at)])
        market.wait_until(select(func.count()).select_from(FlexOfferRow), 1, "the offer")
        with market.engine.connect() as conn:
            offer = conn.execute(select(FlexOfferRow)).one()
    assert (offer.pod_id, offer.direction, offer.quantity_type) == ("POD-000001", "up", "P")
    steps = {(s["mtu"], s["quantity"], s["price_eur_per_mwh"]) for s in offer.steps}
    assert len({m for m, _, _ in steps}) == 96
    assert {(q, p) for m, q, p in steps if m == 40} == {(1.25, 80.0), (1.25, 120.0)}


def test_fr_ap_a_3_setpoints_are_issued_15_minutes_before_the_window(
        stack: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """FR_AP_A_3 / FR_AP_A_2: 4 kW up awarded to POD-000001 in MTU 40 (window 2, 08:00–
    12:00) gives one 16-slot setpoint at 07:45: 4 kW below its 20 kW baseline in MTU 40,
    the baseline elsewhere; the DSO relays it."""
    window = 2
    at = issue_time(DAY, window, ROME)
    start = at - timedelta(seconds=30)
    rt = next(s for s in day_sessions(DAY, ROME) if s.session_id.endswith(f"-{window}"))
    with running_market(stack, tmp_path, processors="projector,dispatch,setpoint_relay",
                        clock="simulated", clock_start=start, clock_speed=10.0,
                        clock_anchor=datetime.now(UTC) + timedelta(seconds=5)) as market:
        offer = make_offer_submitted(offer_id="OFFER-1", steps=(PriceStep(
            mtu=40, quantity=4.0, price_eur_per_mwh=100.0),))
        publish(market.settings, [
            new_event(offer, actor="AGG-1"), new_event(make_baseline(DAY), actor="AGG-1"),
            new_event(make_validated_outcome((make_validated_award(quantity=4.0,
                                                                   awarded_quantity=4.0,
                                                                   value_cents=10),),
                                             session_id=f"DA-{DAY}"), actor="market"),
            new_event(make_validated_outcome(session_id=rt.session_id, market_type="RT",
                                             outcome_id="OUTCOME-RT"), actor="market")])
        market.wait_until(select(func.count()).select_from(EventRow).where(
            EventRow.type == "SetpointRelayed"), 1, "the setpoint issued and relayed",
            timeout_s=90)
        with market.engine.connect() as conn:
            issued = conn.execute(select(EventRow).where(
                EventRow.type == "SetpointIssued")).one()
    slots = {s["mtu"]: s["p_kw"] for s in issued.payload["slots"]}
    assert sorted(slots) == window_mtus(DAY, window, ROME)
    assert slots[40] == 16.0 and all(p == 20.0 for m, p in slots.items() if m != 40)
    assert issued.payload["session_id"] == rt.session_id
    assert issued.occurred_at.replace(tzinfo=UTC) == at
