"""An imported UFTP FlexOffer clears like a native one (FR_MP_FS_3): the offer read from
XML and the same offer posted as JSON give the clearing engines the same bid, and the same
awards come out."""

from __future__ import annotations

from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from market.api.v1.schemas import FlexOfferCreate
from market.domain.calendar import find_session
from market.domain.clearing.merit_order import MeritOrder
from market.domain.clearing.milp import Milp
from market.domain.clearing.problem import ClearingProblem, Need
from market.domain.events import FlexOfferSubmitted
from market.store.clearing_input import _bid
from market.uftp.inbound import offer_submission, request_submission
from tests.builders import DA_SESSION, make_offer_body
from tests.uftp_samples import sample

ROME = ZoneInfo("Europe/Rome")
SLOT = find_session(DA_SESSION, ROME)
PODS = ["POD-000001", "POD-000002"]


def _submitted(body: FlexOfferCreate, offer_id: str) -> FlexOfferSubmitted:
    return FlexOfferSubmitted(offer_id=offer_id, session_id=DA_SESSION,
                              player_service_id=f"{body.aggregator_id}::{body.pod_id}::x",
                              **body.model_dump(exclude={"market_type"}))


def _problem(offer: FlexOfferCreate) -> ClearingProblem:
    """The DSO's sample FlexRequest (4 kW up in MTUs 70 and 71 at feeder PS-1-F1), the
    offer under test, and a rival: POD-000002's 4 kW at 130 €/MWh in both MTUs. The bids
    are read as clearing reads them from the read models (rows of the events' JSON)."""
    assert SLOT is not None
    request = request_submission(sample("flex_request"), "DSO-1", "DSO", SLOT, ROME, PODS)
    need = Need("R-1", "DSO-1", "DSO", request.direction, request.quantity_type,
                frozenset(request.eligible_pods), {q.mtu: q.quantity for q in request.quantities})
    rival = FlexOfferCreate.model_validate(make_offer_body(
        aggregator_id="AGG-2", pod_id="POD-000002",
        steps=[{"mtu": m, "quantity": 4.0, "price_eur_per_mwh": 130.0} for m in (70, 71)]))
    bids = tuple(_bid(SimpleNamespace(**_submitted(o, oid).model_dump(mode="json")))
                 for o, oid in ((offer, "O-TESTED"), (rival, "O-RIVAL")))
    return ClearingProblem(DA_SESSION, (need,), bids)


@pytest.mark.parametrize("engine", [MeritOrder(), Milp()], ids=["merit_order", "milp"])
def test_fr_mp_fs_3_an_imported_uftp_flex_offer_clears_like_a_native_one(engine: object
                                                                         ) -> None:
    assert SLOT is not None
    imported = offer_submission(sample("flex_offer"), "AGG-1", SLOT, ROME)
    native = FlexOfferCreate.model_validate(make_offer_body(divisible=False))
    assert imported == native
    from_uftp = engine.clear(_problem(imported))  # type: ignore[attr-defined]
    from_json = engine.clear(_problem(native))  # type: ignore[attr-defined]
    assert from_uftp.awards == from_json.awards
    assert from_uftp.objectives == from_json.objectives
    # Cheapest first, all-or-nothing kept: MTU 70 takes the tested 2 kW at 120 €/MWh and
    # 2 kW of the rival; in MTU 71 the rival's 130 €/MWh beats the tested 150.
    assert sorted((a.offer_id, a.mtu, a.quantity) for a in from_uftp.awards) == [
        ("O-RIVAL", 70, 2.0), ("O-RIVAL", 71, 4.0), ("O-TESTED", 70, 2.0)]
