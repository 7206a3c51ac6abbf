"""Arrival rules of requests and offers (MARKET_RULES.md "Requests and offers";
FR_MP_FS_1): each broken rule names its field."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import Conflict, FlexmarketError, Forbidden, Rejected
from market.domain.calendar import find_session
from market.domain.events import BlockTerms, GridPoint, MtuQuantity, PriceStep
from market.domain.submissions import (
    PodView,
    check_offer,
    check_request,
    check_withdrawal,
    player_service_id,
)
from tests.builders import (
    AGGREGATOR_ID,
    DA_CLOSED_AT,
    DA_OPEN_AT,
    DA_SESSION,
    POD_ID,
    make_offer_submitted,
    make_request_submitted,
)

ROME = ZoneInfo("Europe/Rome")
SLOT = find_session(DA_SESSION, ROME)
POD = PodView(pod_id=POD_ID, aggregator_id=AGGREGATOR_ID, primary_substation="PS-1",
              mv_feeder="PS-1-F1", secondary_substation="SS-5", up_p_kw=5.0,
              down_p_kw=3.0, up_q_kvar=2.0, down_q_kvar=1.0)


def _error(call, *args) -> FlexmarketError:  # type: ignore[no-untyped-def]
    with pytest.raises(FlexmarketError) as caught:
        call(*args)
    return caught.value


def test_a_valid_offer_and_request_pass() -> None:
    assert SLOT is not None
    check_offer(make_offer_submitted(), SLOT, POD, DA_OPEN_AT, "DA")
    check_request(make_request_submitted(), SLOT, {POD_ID: POD}, False, DA_OPEN_AT, "DA")


def test_fr_mp_fs_1_offer_after_gate_closure_is_a_conflict() -> None:
    err = _error(check_offer, make_offer_submitted(), SLOT, POD, DA_CLOSED_AT, "DA")
    assert isinstance(err, Conflict)
    assert (err.code, err.field) == ("OFFER_AFTER_GATE_CLOSURE", "session_id")
    # One microsecond before the gate still counts as open.
    check_offer(make_offer_submitted(), SLOT, POD, DA_CLOSED_AT - timedelta(microseconds=1),
                "DA")


def test_offer_before_the_session_opens_is_a_conflict() -> None:
    assert SLOT is not None
    err = _error(check_offer, make_offer_submitted(), SLOT, POD,
                 SLOT.opens_at - timedelta(seconds=1), "DA")
    assert (err.code, err.http_status) == ("SESSION_NOT_OPEN", 409)


@pytest.mark.parametrize(("offer", "pod", "market_type", "code", "field", "error"), [
    (make_offer_submitted(), None, "DA", "UNKNOWN_POD", "pod_id", Rejected),
    (make_offer_submitted(), PodView(**{**POD.__dict__, "active": False}), "DA",
     "UNKNOWN_POD", "pod_id", Rejected),
    (make_offer_submitted(aggregator_id="AGG-2"), POD, "DA", "POD_OF_ANOTHER_AGGREGATOR",
     "pod_id", Forbidden),
    (make_offer_submitted(), POD, "RT", "SESSION_TYPE_MISMATCH", "market_type", Rejected),
    (make_offer_submitted(steps=(PriceStep(mtu=96, quantity=1, price_eur_per_mwh=1),)), POD,
     "DA", "MTU_OUTSIDE_SESSION", "steps.0.mtu", Rejected),
    # 3 + 3 kW in MTU 70 is above the PoD's 5 kW upward limit: the second step is at fault.
    (make_offer_submitted(steps=(PriceStep(mtu=70, quantity=3, price_eur_per_mwh=1),
                                 PriceStep(mtu=70, quantity=3, price_eur_per_mwh=2))), POD,
     "DA", "ABOVE_MAX_FLEXIBILITY", "steps.1.quantity", Rejected),
    # Downward reactive power has its own, smaller limit (1 kVAr).
    (make_offer_submitted(direction="down", quantity_type="Q"), POD, "DA",
     "ABOVE_MAX_FLEXIBILITY", "steps.0.quantity", Rejected),
    (make_offer_submitted(steps=()), POD, "DA", "OFFER_SHAPE", "block", Rejected),
    (make_offer_submitted(block=BlockTerms(energy=1, max_power=9, first_mtu=60, last_mtu=70,
                                           price_eur_per_mwh=100), steps=()), POD, "DA",
     "ABOVE_MAX_FLEXIBILITY", "block.max_power", Rejected),
    (make_offer_submitted(block=BlockTerms(energy=3, max_power=4, first_mtu=60, last_mtu=61,
                                           price_eur_per_mwh=100), steps=()), POD, "DA",
     "BLOCK_ENERGY", "block.energy", Rejected),
    (make_offer_submitted(block=BlockTerms(energy=1, max_power=4, first_mtu=61, last_mtu=60,
                                           price_eur_per_mwh=100), steps=()), POD, "DA",
     "BLOCK_WINDOW", "block.last_mtu", Rejected),
])
def test_offer_rules_name_the_field(offer, pod, market_type, code, field, error) -> None:  # type: ignore[no-untyped-def]
    err = _error(check_offer, offer, SLOT, pod, DA_OPEN_AT, market_type)
    assert isinstance(err, error)
    assert (err.code, err.field) == (code, field)


def test_a_block_within_limits_passes() -> None:
    assert SLOT is not None
    offer = make_offer_submitted(steps=(), block=BlockTerms(
        energy=2.0, max_power=4.0, first_mtu=60, last_mtu=61, price_eur_per_mwh=90))
    check_offer(offer, SLOT, POD, DA_OPEN_AT, "DA")


OTHER = PodView(**{**POD.__dict__, "pod_id": "POD-2", "mv_feeder": "MV-9"})


@pytest.mark.parametrize(("request_", "pods", "pom", "code", "field"), [
    (make_request_submitted(eligible_pods=("POD-X",)), {POD_ID: POD}, False, "UNKNOWN_POD",
     "eligible_pods.0"),
    (make_request_submitted(eligible_pods=(POD_ID, "POD-2")), {POD_ID: POD, "POD-2": OTHER},
     False, "POD_NOT_UNDER_LOCATION", "eligible_pods.1"),
    (make_request_submitted(eligible_pods=()), {}, False, "NO_ELIGIBLE_PODS", "eligible_pods"),
    (make_request_submitted(location=GridPoint(kind="pom", id="PS-1")), {POD_ID: POD}, True,
     "LOCATION_KIND", "location.kind"),
    (make_request_submitted(role="TSO", requester_id="TSO-1", eligible_pods=()), {}, True,
     "LOCATION_KIND", "location.kind"),
    (make_request_submitted(role="TSO", location=GridPoint(kind="pom", id="PS-1")),
     {POD_ID: POD}, True, "TSO_NAMES_PODS", "eligible_pods"),
    (make_request_submitted(role="TSO", location=GridPoint(kind="pom", id="PS-9"),
                            eligible_pods=()), {}, False, "UNKNOWN_POM", "location.id"),
    (make_request_submitted(quantities=(MtuQuantity(mtu=99, quantity=1),)), {POD_ID: POD},
     False, "MTU_OUTSIDE_SESSION", "quantities.0.mtu"),
    (make_request_submitted(quantities=(MtuQuantity(mtu=3, quantity=1),
                                        MtuQuantity(mtu=3, quantity=2))), {POD_ID: POD},
     False, "MTU_REPEATED", "quantities.1.mtu"),
])
def test_request_rules_name_the_field(request_, pods, pom, code, field) -> None:  # type: ignore[no-untyped-def]
    err = _error(check_request, request_, SLOT, pods, pom, DA_OPEN_AT, "DA")
    assert (err.code, err.field) == (code, field)


def test_a_tso_request_at_a_known_pom_passes() -> None:
    assert SLOT is not None
    request = make_request_submitted(role="TSO", location=GridPoint(kind="pom", id="PS-1"),
                                     eligible_pods=())
    check_request(request, SLOT, {}, True, DA_OPEN_AT, "DA")


def test_withdrawal_only_while_open_and_once() -> None:
    assert SLOT is not None
    check_withdrawal(SLOT, False, DA_OPEN_AT, "offer")
    assert _error(check_withdrawal, SLOT, True, DA_OPEN_AT, "offer").code == "ALREADY_WITHDRAWN"
    assert _error(check_withdrawal, SLOT, False, DA_CLOSED_AT,
                  "offer").code == "WITHDRAWAL_AFTER_GATE_CLOSURE"


def test_player_service_id_has_platones_shape() -> None:
    """The Platone dashboard's example (research: platone-market-and-aggregator §4.4)."""
    slot = find_session("DA-2021-05-14", ROME)
    assert slot is not None
    assert player_service_id("ACEAE", "IT002EAA0123AA", slot, ROME) == (
        "ACEAE::IT002EAA0123AA::dayAhead::2021-05-14T00:00:00.000+02:00")
    winter = find_session("RT-2021-12-01-2", ROME)
    assert winter is not None
    assert player_service_id("A", "P", winter, ROME) == (
        "A::P::realTime::2021-12-01T08:00:00.000+01:00")


@pytest.mark.parametrize("session_id", ["DA-2026-02-30", "XX-2026-01-01", "RT-2026-01-01-6",
                                        "DA-0001-01-01", "RT-2026-01-01"])
def test_find_session_refuses_ids_not_in_the_calendar(session_id: str) -> None:
    assert find_session(session_id, ROME) is None
