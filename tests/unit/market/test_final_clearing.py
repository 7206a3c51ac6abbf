"""Final clearing: the validated outcome keeps what the DSO accepted, and each participant
sees only its own awards (FR_MP_FS_5)."""

from __future__ import annotations

import pytest

from dso.domain.events import AwardVerdict, TechnicalValidationCompleted
from market.domain.events import AwardLine, MarketCleared, ObjectiveValues
from market.domain.final_clearing import NO_VERDICT, participant_results, validate_outcome
from market.domain.money import value_cents

ZERO = ObjectiveValues(cost_eur=0, unserved=0, risk=0, unserved_dso=0)


def _award(request: str, requester: str, offer: str, aggregator: str, mtu: int,
           quantity: float, price: float) -> AwardLine:
    return AwardLine(award_id=f"AW-{offer}", request_id=request, requester_id=requester,
                     offer_id=offer, aggregator_id=aggregator, pod_id=f"POD-{offer}", mtu=mtu,
                     quantity=quantity, bid_price_eur_per_mwh=price, price_eur_per_mwh=price,
                     value_cents=value_cents(quantity, price))


MARKET = MarketCleared(
    outcome_id="MO-DA-2026-06-10", session_id="DA-2026-06-10", market_type="DA",
    engine="milp", engine_version="1", pricing="pay_as_bid", request_ids=("R1", "R2"),
    offer_ids=("O1", "O2", "O3"), unserved=(), objectives=ZERO, pareto_front=(ZERO,),
    statistics={},
    awards=(_award("R1", "DSO-1", "O1", "AGG-1", 70, 40.0, 100.0),
            _award("R1", "DSO-1", "O2", "AGG-2", 70, 20.0, 200.0),
            _award("R2", "TSO-1", "O3", "AGG-1", 71, 10.0, 300.0)))


def _verdict(offer: str, accepted: float, status: str, reason: str | None = None) -> AwardVerdict:
    award = next(a for a in MARKET.awards if a.offer_id == offer)
    return AwardVerdict(award_id=award.award_id, request_id=award.request_id, offer_id=offer,
                        mtu=award.mtu, accepted_quantity=accepted, status=status,  # type: ignore[arg-type]
                        reason=reason)


def _validation(*verdicts: AwardVerdict, outcome: str = "E-MARKET") -> TechnicalValidationCompleted:
    return TechnicalValidationCompleted(validation_id="V1", session_id="DA-2026-06-10",
                                        market_outcome_event_id=outcome, verdicts=verdicts)


def test_value_cents_of_an_award() -> None:
    # 40 kW for 15 minutes = 10 kWh = 0.01 MWh at 100 €/MWh = 1 € = 100 cents.
    assert value_cents(40.0, 100.0) == 100
    # 1 kW · 0.25 h · 2 €/MWh = 0.0005 € = 0.05 cents → 0 (half-even), never negative.
    assert value_cents(1.0, 2.0) == 0
    assert value_cents(3.0, 10.0) == 1  # 0.75 cents rounds to 1


def test_fr_mp_fs_5_validated_outcome_keeps_accepted_quantities() -> None:
    validated = validate_outcome(MARKET, "E-MARKET", _validation(
        _verdict("O1", 40.0, "accepted"),
        _verdict("O2", 5.0, "partially_accepted", "line L3 at 104 %"),
        _verdict("O3", 0.0, "rejected", "voltage at bus 7 below 0.9 pu")),
        "E-VALIDATION")
    by_offer = {a.offer_id: a for a in validated.awards}
    assert (by_offer["O1"].quantity, by_offer["O1"].value_cents) == (40.0, 100)
    assert (by_offer["O2"].quantity, by_offer["O2"].awarded_quantity) == (5.0, 20.0)
    assert by_offer["O2"].value_cents == value_cents(5.0, 200.0) == 25
    assert (by_offer["O3"].status, by_offer["O3"].value_cents) == ("rejected", 0)
    assert validated.total_value_cents == 125


def test_an_award_without_a_verdict_is_not_validated() -> None:
    validated = validate_outcome(MARKET, "E-MARKET", _validation(), "E-VALIDATION")
    assert {a.status for a in validated.awards} == {"rejected"}
    assert {a.reason for a in validated.awards} == {NO_VERDICT}
    assert validated.total_value_cents == 0


def test_a_verdict_never_raises_an_award() -> None:
    validated = validate_outcome(MARKET, "E-MARKET", _validation(
        _verdict("O1", 90.0, "accepted")), "E-VALIDATION")
    assert validated.awards[0].quantity == 40.0


def test_a_validation_of_another_outcome_or_award_is_refused() -> None:
    with pytest.raises(ValueError, match="is of market outcome"):
        validate_outcome(MARKET, "E-MARKET", _validation(outcome="E-OTHER"), "V")
    with pytest.raises(ValueError, match="does not have"):
        validate_outcome(MARKET, "E-MARKET", _validation(AwardVerdict(
            award_id="AW-O1", request_id="R9", offer_id="O1", mtu=70, accepted_quantity=1,
            status="accepted")), "V")


def test_fr_mp_fs_5_results_are_filtered_per_participant() -> None:
    verdicts = [_verdict(a.offer_id, a.quantity, "accepted") for a in MARKET.awards]
    validated = validate_outcome(MARKET, "E-MARKET", _validation(*verdicts), "E-V")
    results = {r.participant_id: r for r in participant_results(validated, "E-VO",
                                                                ["AGG-3"])}
    assert set(results) == {"DSO-1", "TSO-1", "AGG-1", "AGG-2", "AGG-3"}
    assert {a.offer_id for a in results["AGG-1"].awards} == {"O1", "O3"}
    assert {a.offer_id for a in results["DSO-1"].awards} == {"O1", "O2"}
    assert {a.offer_id for a in results["TSO-1"].awards} == {"O3"}
    assert results["AGG-3"].awards == () and results["AGG-3"].total_value_cents == 0
    assert results["AGG-2"].total_value_cents == value_cents(20.0, 200.0)
