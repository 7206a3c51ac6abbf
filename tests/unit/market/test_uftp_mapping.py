"""USEF/UFTP messages to flexmarket submissions and back (docs/uftp.md): the units, the
PTU↔MTU numbering, the sender rule, what UFTP cannot say, and FlexOrders from awards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.auth.roles import Role
from ledger.errors import Conflict, Forbidden, Rejected
from market.api.v1.schemas import FlexOfferCreate, FlexRequestCreate
from market.domain.calendar import find_session
from market.domain.events import FlexOfferSubmitted, PriceStep
from market.uftp.codec import write_message
from market.uftp.identity import Directory, check_sender
from market.uftp.inbound import (
    check_message,
    day_session,
    offer_submission,
    request_submission,
)
from market.uftp.messages import Ptu
from market.uftp.outbound import flex_offer_of, flex_order_of, flex_request_of, response_to
from market.uftp.units import eur_per_mwh_of, price_of, watts_of
from tests.builders import (
    DA_CLOSED_AT,
    DA_OPEN_AT,
    DA_SESSION,
    make_offer_submitted,
    make_request_submitted,
    make_validated_award,
)
from tests.uftp_samples import sample, variant

ROME = ZoneInfo("Europe/Rome")
SLOT = find_session(DA_SESSION, ROME)
DIRECTORY = Directory("flexmarket.local")
SUBMITTED_AT = datetime(2026, 6, 9, 12, 45, tzinfo=UTC)
ORDER_REFERENCE = "01977a3c-5d00-7000-8000-0000000000aa/AW-1+AW-2"


def test_fr_mp_fs_1_a_flex_offer_is_the_native_offer_it_says() -> None:
    """PTU 71 (the day's first is 1) is MTU 70 (the first is 0); −2000 W (towards the
    grid) is 2 kW "up"; EUR 0.06 for 2 kW during 15 minutes is 120 €/MWh."""
    assert SLOT is not None
    assert offer_submission(sample("flex_offer"), "AGG-1", SLOT, ROME) == FlexOfferCreate(
        aggregator_id="AGG-1", pod_id="POD-000001", market_type="DA", quantity_type="P",
        direction="up", divisible=False,
        steps=[PriceStep(mtu=70, quantity=2.0, price_eur_per_mwh=120.0),
               PriceStep(mtu=71, quantity=3.0, price_eur_per_mwh=150.0)])


def test_fr_mp_fs_1_a_flex_request_is_the_native_request_it_says() -> None:
    """The Requested PTUs are the quantities; Available ones have no native place."""
    assert SLOT is not None
    native = request_submission(sample("flex_request"), "DSO-1", "DSO", SLOT, ROME,
                                ["POD-000001"])
    assert native == FlexRequestCreate(
        requester_id="DSO-1", role="DSO", market_type="DA", service="congestion",
        quantity_type="P", direction="up", location={"kind": "mv_feeder", "id": "PS-1-F1"},
        eligible_pods=["POD-000001"],
        quantities=[{"mtu": 70, "quantity": 4.0}, {"mtu": 71, "quantity": 4.0}])


def test_positive_power_is_down_and_a_ptu_element_spans_its_duration() -> None:
    assert SLOT is not None
    offer = variant("flex_offer", ptus=(Ptu(power=1500, start=1, duration=3,
                                            price=Decimal("0.0375")),))
    native = offer_submission(offer, "AGG-1", SLOT, ROME)
    assert native.direction == "down"
    assert [(s.mtu, s.quantity, s.price_eur_per_mwh) for s in native.steps] == [
        (0, 1.5, 100.0), (1, 1.5, 100.0), (2, 1.5, 100.0)]


@given(st.integers(1, 10**9), st.integers(0, 10**8))
def test_a_price_per_ptu_survives_conversion_to_eur_per_mwh_and_back(watts: int,
                                                                     ten_thousandths: int
                                                                     ) -> None:
    price = Decimal(ten_thousandths).scaleb(-4)
    assert price_of(eur_per_mwh_of(price, -watts), -watts) == price
    assert watts_of(watts / 1000, "up") == -watts


def test_the_ptus_of_a_long_day_count_to_100() -> None:
    """25 October 2026 in Rome has 100 PTUs: PTU 100 is taken, PTU 101 is not."""
    day = date(2026, 10, 25)
    slot = day_session(day, ROME, datetime(2026, 10, 24, 11, 0, tzinfo=UTC))
    last = variant("flex_offer", period=day,
                   ptus=(Ptu(power=-1000, start=100, price=Decimal("0.0100")),))
    assert offer_submission(last, "AGG-1", slot, ROME).steps[0].mtu == 99
    beyond = variant("flex_offer", period=day,
                     ptus=(Ptu(power=-1000, start=101, price=Decimal("0.0100")),))
    with pytest.raises(Rejected) as refused:
        offer_submission(beyond, "AGG-1", slot, ROME)
    assert (refused.value.code, refused.value.field) == ("UFTP_PTU_RANGE",
                                                         "FlexOffer.PTU.0.Start")


def test_a_message_enters_its_days_open_session() -> None:
    """UFTP names a day: the DA session while its gate is open; an RT window later; the
    DA session again when none is open (its check then says the gate closed)."""
    day = date(2026, 6, 10)
    assert day_session(day, ROME, DA_OPEN_AT).session_id == DA_SESSION
    assert day_session(day, ROME, datetime(2026, 6, 9, 20, 0, tzinfo=UTC)).session_id == \
        "RT-2026-06-10-0"
    assert day_session(day, ROME, DA_CLOSED_AT).session_id == DA_SESSION


def _with_ptus(*ptus: Ptu) -> object:
    return variant("flex_offer", ptus=ptus)


OFFER_RULES = [
    (variant("flex_offer", currency="USD"), "UFTP_CURRENCY", "FlexOffer.Currency"),
    (variant("flex_offer", congestion_point=None), "UFTP_CONGESTION_POINT",
     "FlexOffer.CongestionPoint"),
    (variant("flex_offer", congestion_point="ea1.2026-06.agg-1.flexmarket.local:POD 1"),
     "UFTP_CONGESTION_POINT", "FlexOffer.CongestionPoint"),
    (_with_ptus(), "UFTP_EMPTY_OFFER", "FlexOffer.PTU"),
    (_with_ptus(Ptu(power=-1000, start=71)), "UFTP_NO_PRICE", "FlexOffer.PTU.0.Price"),
    (_with_ptus(Ptu(power=0, start=71, price=Decimal(0))), "UFTP_ZERO_POWER",
     "FlexOffer.PTU.0.Power"),
    (_with_ptus(Ptu(power=-1000, start=71, price=Decimal(1)),
                Ptu(power=1000, start=72, price=Decimal(1))), "UFTP_MIXED_DIRECTIONS",
     "FlexOffer.PTU.1.Power"),
    (_with_ptus(Ptu(power=-1000, start=70, duration=2, price=Decimal(1)),
                Ptu(power=-1000, start=71, price=Decimal(1))), "UFTP_PTU_REPEATED",
     "FlexOffer.PTU.1.Start"),
    (_with_ptus(Ptu(power=-1000, start=0, price=Decimal(1))), "UFTP_PTU_RANGE",
     "FlexOffer.PTU.0.Start"),
    (_with_ptus(Ptu(power=-1000, start=71, duration=0, price=Decimal(1))), "UFTP_PTU_RANGE",
     "FlexOffer.PTU.0.Duration"),
    (_with_ptus(Ptu(disposition="Requested", power=-1000, start=71, price=Decimal(1))),
     "UFTP_INVALID", "FlexOffer.PTU.0.Disposition"),
    (_with_ptus(Ptu(power=-1000, start=71, price=Decimal(-1))), "UFTP_OUT_OF_RANGE",
     "FlexOffer.PTU.0.Price"),
]


@pytest.mark.parametrize(("offer", "code", "field"), OFFER_RULES,
                         ids=[r[1] + ":" + r[2] for r in OFFER_RULES])
def test_fr_mp_fs_1_an_offer_the_market_cannot_take_is_rejected_naming_the_field(
        offer: object, code: str, field: str) -> None:
    assert SLOT is not None
    with pytest.raises(Rejected) as refused:
        offer_submission(offer, "AGG-1", SLOT, ROME)  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.field) == (code, field)


REQUEST_RULES = [
    (variant("flex_request", ptus=(Ptu(disposition="Available", power=0, start=1,
                                       duration=96),)),
     "UFTP_NOTHING_REQUESTED", "FlexRequest.PTU"),
    (variant("flex_request", ptus=(Ptu(power=-1000, start=71),)), "UFTP_INVALID",
     "FlexRequest.PTU.0.Disposition"),
    (variant("flex_request", ptus=(Ptu(disposition="Requested", power=-1000, start=71,
                                       price=Decimal(1)),)), "UFTP_INVALID",
     "FlexRequest.PTU.0.Price"),
    (variant("flex_request", congestion_point="ea1.2026-06.dso-1.flexmarket.local:PS-1-F1"),
     "UFTP_CONGESTION_POINT", "FlexRequest.CongestionPoint"),
    (variant("flex_request", congestion_point="ean.871685900012345678"),
     "UFTP_CONGESTION_POINT", "FlexRequest.CongestionPoint"),
]


@pytest.mark.parametrize(("request_", "code", "field"), REQUEST_RULES,
                         ids=[r[1] + ":" + r[2] for r in REQUEST_RULES])
def test_fr_mp_fs_1_a_request_the_market_cannot_take_is_rejected_naming_the_field(
        request_: object, code: str, field: str) -> None:
    assert SLOT is not None
    with pytest.raises(Rejected) as refused:
        request_submission(request_, "DSO-1", "DSO", SLOT, ROME, [])  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.field) == (code, field)


@pytest.mark.parametrize(("changes", "error", "code", "field"), [
    ({"ptu_duration": "PT30M"}, Rejected, "UFTP_PTU_DURATION", "FlexOffer.PTU-Duration"),
    ({"time_zone": "Europe/Amsterdam"}, Rejected, "UFTP_TIME_ZONE", "FlexOffer.TimeZone"),
    ({"expiration_date_time": "2026-06-09T15:00:00+02:00"}, Conflict,
     "UFTP_MESSAGE_EXPIRED", "FlexOffer.ExpirationDateTime"),
    ({"metadata": {"valid_until": "2026-06-09T12:59:59Z"}}, Conflict,
     "UFTP_MESSAGE_EXPIRED", "FlexOffer.MessageMetadata.ValidUntil"),
])
def test_usef_rejects_a_wrong_ptu_duration_time_zone_or_an_expired_message(
        changes: dict[str, object], error: type[Exception], code: str, field: str) -> None:
    metadata = changes.pop("metadata", None)
    offer = variant("flex_offer", metadata=metadata, **changes)  # type: ignore[arg-type]
    with pytest.raises(error) as refused:
        check_message(offer, "Europe/Rome", DA_OPEN_AT)
    assert (refused.value.code, refused.value.field) == (code, field)  # type: ignore[attr-defined]


def test_pt15m_spelt_otherwise_is_still_15_minutes() -> None:
    check_message(variant("flex_offer", ptu_duration="PT900S"), "Europe/Rome", DA_OPEN_AT)


def test_the_sender_must_be_the_caller_usef_signed_message_rule() -> None:
    """SenderDomain and SenderRole are the token's participant and role (USEF: the
    SignedMessage's signer), else 403; a TSO sends as USEF's DSO."""
    check_sender(sample("flex_offer"), "AGG-1", Role.AGGREGATOR, DIRECTORY)
    check_sender(variant("flex_request", metadata={"sender_domain": "tso-1.flexmarket.local"}),
                 "TSO-1", Role.TSO, DIRECTORY)
    cases = [
        (sample("flex_offer"), "AGG-2", Role.AGGREGATOR, "NOT_YOURS",
         "FlexOffer.MessageMetadata.SenderDomain"),
        (sample("flex_request"), "AGG-1", Role.AGGREGATOR, "NOT_YOUR_ROLE", "body"),
        (variant("flex_offer", metadata={"sender_role": "BRP"}), "AGG-1", Role.AGGREGATOR,
         "NOT_YOUR_ROLE", "FlexOffer.MessageMetadata.SenderRole"),
    ]
    for message, who, role, code, field in cases:
        with pytest.raises(Forbidden) as refused:
            check_sender(message, who, role, DIRECTORY)
        assert (refused.value.code, refused.value.field) == (code, field)
    with pytest.raises(Rejected, match="issues FlexOrders"):
        check_sender(sample("flex_order"), "DSO-1", Role.DSO, DIRECTORY)


def test_a_configured_domain_is_the_participants_and_a_bad_one_is_a_conflict() -> None:
    directory = Directory("flexmarket.local", {"AGG-1": "aggregator.example.com"})
    assert directory.domain_of("AGG-1") == "aggregator.example.com"
    assert directory.domain_of("DSO_ARETI") == "dso-areti.flexmarket.local"
    with pytest.raises(Conflict) as refused:
        directory.domain_of("agg-")
    assert refused.value.code == "NO_UFTP_DOMAIN"


def test_a_native_offer_exports_and_imports_back_to_itself() -> None:
    """An offer submitted as JSON has a UFTP form that is the same offer again."""
    assert SLOT is not None
    native = make_offer_submitted(divisible=False)
    offer = flex_offer_of(native, "01972fb5-4c1b-7000-8000-000000000001", SUBMITTED_AT, SLOT,
                          ROME, DIRECTORY)
    assert offer.metadata.time_stamp == "2026-06-09T14:45:00.000+02:00"
    assert (offer.sequence, offer.congestion_point) == (
        20260609144500000, "ea1.2026-06.agg-1.flexmarket.local:POD-000001")
    back = offer_submission(offer, native.aggregator_id, SLOT, ROME)
    assert back.model_dump(mode="json", exclude={"market_type"}) == native.model_dump(
        mode="json", include=set(FlexOfferCreate.model_fields) - {"market_type"})


def test_a_native_request_exports_with_the_rest_of_its_day_available() -> None:
    assert SLOT is not None
    native = make_request_submitted()
    message = flex_request_of(native, "01972fb5-4c1b-7000-8000-000000000002", SUBMITTED_AT,
                              SLOT, ROME, DIRECTORY)
    numbers = [n for p in message.ptus for n in p.numbers]
    assert numbers == list(range(1, 97))
    requested = [(p.start, p.power) for p in message.ptus if p.disposition == "Requested"]
    assert requested == [(71, -4000), (72, -4000)]
    back = request_submission(message, native.requester_id, "DSO", SLOT, ROME,
                              list(native.eligible_pods))
    assert back.model_dump(mode="json", exclude={"market_type"}) == native.model_dump(
        mode="json", include=set(FlexRequestCreate.model_fields) - {"market_type"})


@pytest.mark.parametrize(("native", "code"), [
    (make_offer_submitted(quantity_type="Q"), "UFTP_REACTIVE_POWER"),
    (make_offer_submitted(steps=(), block={"energy": 1.0, "max_power": 2.0, "first_mtu": 70,
                                           "last_mtu": 72, "price_eur_per_mwh": 90.0}),
     "UFTP_FLEXIBLE_BLOCK"),
    (make_offer_submitted(steps=({"mtu": 70, "quantity": 1.0, "price_eur_per_mwh": 90.0},
                                 {"mtu": 70, "quantity": 1.0, "price_eur_per_mwh": 95.0})),
     "UFTP_PRICE_LADDER"),
])
def test_what_uftp_cannot_say_is_a_conflict(native: FlexOfferSubmitted, code: str) -> None:
    assert SLOT is not None
    with pytest.raises(Conflict) as refused:
        flex_offer_of(native, "01972fb5-4c1b-7000-8000-000000000001", SUBMITTED_AT, SLOT,
                      ROME, DIRECTORY)
    assert refused.value.code == code
    with pytest.raises(Conflict):
        flex_request_of(make_request_submitted(quantity_type="Q"), "x", SUBMITTED_AT, SLOT,
                        ROME, DIRECTORY)


ORDERED_AT = datetime(2026, 6, 9, 14, 5, tzinfo=UTC)


def _awards(*lines: tuple[int, float, float]) -> list:
    return [make_validated_award(award_id=f"AW-{i}", mtu=mtu, quantity=kw,
                                 awarded_quantity=kw, bid_price_eur_per_mwh=bid,
                                 price_eur_per_mwh=bid, value_cents=0)
            for i, (mtu, kw, bid) in enumerate(lines, start=1)]


def _order(awards: list) -> object:
    assert SLOT is not None
    return flex_order_of(sample("flex_offer"), awards, buyer_domain="dso-1.flexmarket.local",
                         reference=ORDER_REFERENCE, at=ORDERED_AT, expires=SLOT.delivery_end,
                         zone=ROME)


def test_fr_mp_fs_5_an_offer_taken_as_offered_is_ordered_with_its_ptus_verbatim() -> None:
    """USEF: the FlexOrder's PTU list is the FlexOffer's, unchanged; OrderReference names
    the awards. The sample FlexOrder is exactly what the market makes."""
    order = _order(_awards((70, 2.0, 120.0), (71, 3.0, 150.0)))
    assert order.ptus == sample("flex_offer").ptus  # type: ignore[attr-defined]
    assert write_message(order) == write_message(sample("flex_order"))  # type: ignore[arg-type]


def test_fr_mp_fs_5_an_offer_taken_in_part_is_ordered_as_awarded() -> None:
    """One PTU, or less power, or a clearing price below the bid: the PTUs as awarded
    (USEF has no partial order; a strict aggregator refuses it rather than deliver all)."""
    partial = _order(_awards((70, 2.0, 120.0)))
    assert [(p.start, p.power, p.price) for p in partial.ptus] == [  # type: ignore[attr-defined]
        (71, -2000, Decimal("0.0600"))]
    cleared = _awards((70, 2.0, 120.0), (71, 3.0, 150.0))
    cleared[1] = cleared[1].model_copy(update={"price_eur_per_mwh": 130.0})
    assert [p.price for p in _order(cleared).ptus] == [  # type: ignore[attr-defined]
        Decimal("0.0600"), Decimal("0.0975")]


def test_a_response_answers_its_message_from_whom_it_was_addressed_to() -> None:
    offer = sample("flex_offer")
    answer = response_to(offer, accepted=False, text="CODE (field): why", at=DA_OPEN_AT,
                         zone=ROME)
    assert type(answer).__name__ == "FlexOfferResponse"
    assert (answer.metadata.sender_domain, answer.metadata.sender_role,
            answer.metadata.recipient_domain, answer.metadata.recipient_role) == (
        "flexmarket.local", "DSO", "agg-1.flexmarket.local", "AGR")
    assert (answer.sequence, answer.result, answer.metadata.conversation_id) == (
        offer.sequence, "Rejected", offer.metadata.conversation_id)
    assert answer == response_to(offer, accepted=False, text="CODE (field): why",
                                 at=DA_OPEN_AT, zone=ROME)
    assert write_message(answer).startswith("<FlexOfferResponse ")
    assert type(response_to(sample("flex_request"), accepted=True, text=None, at=DA_OPEN_AT,
                            zone=ROME)).__name__ == "FlexRequestResponse"

