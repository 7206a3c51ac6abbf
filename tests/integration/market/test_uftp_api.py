"""USEF/UFTP through the API on the real stack (Kafka, the projector, SQLite read models):
a FlexOffer or FlexRequest posted as XML takes the native write path and comes back
unchanged; refusals write nothing; a validated outcome's awards come out as FlexOrders."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow
from market.domain.clock import ManualClock
from market.store.models import FlexOfferRow, FlexRequestRow, OutcomeRow
from tests.auth import bearer
from tests.builders import (
    DA_CLOSED_AT,
    DA_OPEN_AT,
    DA_SESSION,
    make_offer_body,
    make_validated_award,
    make_validated_outcome,
)
from tests.integration.market.harness import Market, running_market
from tests.integration.projection_harness import publish
from tests.uftp_samples import offer_xml, request_xml, sample_bytes, variant_xml

pytestmark = pytest.mark.integration
MESSAGES = "/v1/uftp/messages"
XML = {"Content-Type": "application/xml"}
AGG_1, DSO_1 = bearer("AGG-1", "aggregator"), bearer("DSO-1", "dso")


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("uftp")) as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DA_OPEN_AT)


@pytest.fixture
def client(market: Market, clock: ManualClock) -> Iterator[TestClient]:
    with market.client(clock) as client:
        yield client


def _post(client: TestClient, xml: bytes | str, who: dict[str, str]) -> Any:
    return client.post(MESSAGES, content=xml, headers={**XML, **who})


def _c14n(xml: bytes | str) -> str:
    return ET.canonicalize(xml.decode() if isinstance(xml, bytes) else xml, strip_text=True)


def _projected(market: Market, row: Any, field: str, subject_id: str,
               event_type: str) -> None:
    """The submission ``subject_id`` and the UFTP message kept beside it are projected."""
    market.wait_until(select(func.count()).select_from(row).where(
        getattr(row, field) == subject_id), 1, "submission")
    market.wait_until(select(func.count()).select_from(EventRow).where(
        EventRow.type == event_type, EventRow.payload[field].as_string() == subject_id), 1,
        "kept message")


def test_fr_mp_fs_1_a_uftp_flex_offer_takes_the_native_path_and_comes_back_unchanged(
        market: Market, client: TestClient) -> None:
    before = market.submissions_on_log()
    answer = _post(client, sample_bytes("flex_offer"), AGG_1)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    response = ET.fromstring(answer.text)
    assert (response.tag, response.get("Result"), response.get("Sequence")) == (
        "FlexOfferResponse", "Accepted", "20260609144500000")
    metadata = response.find("MessageMetadata")
    assert metadata is not None
    assert (metadata.get("RecipientDomain"), metadata.get("ConversationID")) == (
        "agg-1.flexmarket.local", "9c114f0b-8ccc-4441-81a1-4c7d591b09f0")
    assert market.submissions_on_log() == before + 2  # the offer, and the message kept
    offer_id = answer.headers["location"].rsplit("/", 1)[1]
    _projected(market, FlexOfferRow, "offer_id", offer_id, "UftpFlexOfferReceived")
    native = client.get(f"/v1/offers/{offer_id}", headers=AGG_1).json()
    assert (native["direction"], native["divisible"], native["steps"]) == ("up", False, [
        {"mtu": 70, "quantity": 2.0, "price_eur_per_mwh": 120.0},
        {"mtu": 71, "quantity": 3.0, "price_eur_per_mwh": 150.0}])
    exported = client.get(answer.headers["location"], headers=AGG_1)
    assert exported.status_code == 200
    assert _c14n(exported.text) == _c14n(sample_bytes("flex_offer"))

    again = _post(client, sample_bytes("flex_offer"), AGG_1)
    assert again.status_code == 200, again.text
    assert ET.fromstring(again.text).get("Result") == "Accepted"
    assert "ALREADY_ACCEPTED" in (ET.fromstring(again.text).get("Message") or "")
    assert market.submissions_on_log() == before + 2


def test_fr_mp_fs_1_a_dso_and_a_tso_flex_request_become_requests(market: Market,
                                                                  client: TestClient) -> None:
    """A DSO's request is served by the PoDs under its grid point; a TSO sends as USEF's
    DSO and names its PoM."""
    answer = _post(client, sample_bytes("flex_request"), DSO_1)
    assert answer.status_code == 201, answer.text
    assert ET.fromstring(answer.text).tag == "FlexRequestResponse"
    request_id = answer.headers["location"].rsplit("/", 1)[1]
    _projected(market, FlexRequestRow, "request_id", request_id, "UftpFlexRequestReceived")
    native = client.get(f"/v1/requests/{request_id}", headers=DSO_1).json()
    assert native["eligible_pods"] == ["POD-000001", "POD-000002", "POD-000004"]
    assert native["quantities"] == [{"mtu": 70, "quantity": 4.0}, {"mtu": 71, "quantity": 4.0}]
    exported = client.get(answer.headers["location"], headers=DSO_1)
    assert _c14n(exported.text) == _c14n(sample_bytes("flex_request"))

    tso = _post(client, request_xml("tso-1.flexmarket.local", "pom/PS-1", str(uuid.uuid4())),
                bearer("TSO-1", "tso"))
    assert tso.status_code == 201, tso.text
    tso_id = tso.headers["location"].rsplit("/", 1)[1]
    market.wait_until(select(func.count()).select_from(FlexRequestRow).where(
        FlexRequestRow.request_id == tso_id), 1, "TSO request")
    assert client.get(f"/v1/requests/{tso_id}", headers=DSO_1).json()["role"] == "TSO"


REFUSED_UNREAD = [
    ("not XML", b'{"offer": 1}', AGG_1, 422, "UFTP_NOT_XML", "body"),
    ("a field the XSD refuses", sample_bytes("flex_offer").replace(b'Power="-2000"',
                                                                   b'Power="2 kW"'),
     AGG_1, 422, "UFTP_INVALID", "FlexOffer.PTU.0.Power"),
    ("another sender", offer_xml("agg-2.flexmarket.local", "POD-000004",
                                 str(uuid.uuid4())).encode(), AGG_1, 403, "NOT_YOURS",
     "FlexOffer.MessageMetadata.SenderDomain"),
    ("an aggregator's request", sample_bytes("flex_request"), AGG_1, 403, "NOT_YOUR_ROLE",
     "body"),
    ("a FlexOrder", sample_bytes("flex_order"), DSO_1, 422, "UFTP_MESSAGE_NOT_TAKEN", "body"),
]


@pytest.mark.parametrize(("case", "body", "who", "status", "code", "field"), REFUSED_UNREAD,
                         ids=[c[0] for c in REFUSED_UNREAD])
def test_a_message_unread_or_not_the_callers_is_refused_with_the_error_body(
        market: Market, client: TestClient, case: str, body: bytes, who: dict[str, str],
        status: int, code: str, field: str) -> None:
    """Bad XML or a bad field: 422 naming it; a sender who is not the caller: 403. Nothing
    is written, and no UFTP response answers a message not read or not trusted."""
    before = market.submissions_on_log()
    answer = _post(client, body, who)
    assert answer.status_code == status, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert market.submissions_on_log() == before


def test_a_message_the_market_refuses_gets_a_rejected_uftp_response(
        market: Market, client: TestClient, clock: ManualClock) -> None:
    """Read and verified, a message the market's rules refuse is answered Rejected, with
    the native submission's status, code and field; nothing is written."""
    before = market.submissions_on_log()
    foreign_pod = _post(client, offer_xml("agg-1.flexmarket.local", "POD-000004",
                                          str(uuid.uuid4())), AGG_1)
    assert foreign_pod.status_code == 403, foreign_pod.text
    verdict = ET.fromstring(foreign_pod.text)
    assert (verdict.tag, verdict.get("Result")) == ("FlexOfferResponse", "Rejected")
    assert (verdict.get("Message") or "").startswith("POD_OF_ANOTHER_AGGREGATOR (pod_id)")

    wrong_duration = _post(client, variant_xml("flex_offer", ptu_duration="PT1H", metadata={
        "message_id": str(uuid.uuid4())}), AGG_1)
    assert wrong_duration.status_code == 422
    assert "UFTP_PTU_DURATION (FlexOffer.PTU-Duration)" in (
        ET.fromstring(wrong_duration.text).get("Message") or "")

    clock.set(DA_CLOSED_AT)
    late = _post(client, variant_xml(
        "flex_offer", expiration_date_time="2026-06-10T00:00:00.000+02:00",
        metadata={"message_id": str(uuid.uuid4()), "valid_until": None}), AGG_1)
    assert late.status_code == 409, late.text
    assert (ET.fromstring(late.text).get("Message") or "").startswith(
        "OFFER_AFTER_GATE_CLOSURE")
    expired = _post(client, variant_xml("flex_offer", metadata={
        "message_id": str(uuid.uuid4())}), AGG_1)
    assert expired.status_code == 409
    assert "UFTP_MESSAGE_EXPIRED" in (ET.fromstring(expired.text).get("Message") or "")
    assert market.submissions_on_log() == before


def test_a_native_offer_is_given_as_a_flex_offer(market: Market, client: TestClient) -> None:
    posted = client.post(f"/v1/sessions/{DA_SESSION}/offers", headers=AGG_1,
                         json=make_offer_body(divisible=False))
    assert posted.status_code == 201, posted.text
    offer_id = posted.json()["id"]
    market.wait_until(select(func.count()).select_from(FlexOfferRow).where(
        FlexOfferRow.offer_id == offer_id), 1, "offer projected")
    exported = client.get(f"/v1/uftp/offers/{offer_id}", headers=DSO_1)
    assert exported.status_code == 200, exported.text
    offer = ET.fromstring(exported.text)
    assert offer.find("MessageMetadata").get("MessageID") == posted.json()["event_id"]  # type: ignore[union-attr]
    assert [(p.get("Start"), p.get("Power"), p.get("Price")) for p in offer.findall("PTU")] == [
        ("71", "-2000", "0.0600"), ("72", "-3000", "0.1125")]
    assert client.get(f"/v1/uftp/offers/{offer_id}", headers=bearer(
        "AGG-2", "aggregator")).json()["code"] == "NOT_YOURS"


def test_fr_mp_fs_5_awards_of_a_validated_outcome_are_flex_orders(market: Market,
                                                                  client: TestClient) -> None:
    """The offer taken as offered is ordered with its PTUs verbatim; the order reference
    names the validated outcome and its awards; only the award's parties read it."""
    message_id = str(uuid.uuid4())
    taken = _post(client, offer_xml("agg-1.flexmarket.local", "POD-000002", message_id),
                  AGG_1)
    assert taken.status_code == 201, taken.text
    offer_id = taken.headers["location"].rsplit("/", 1)[1]
    awards = tuple(make_validated_award(award_id=f"AW-{i}", offer_id=offer_id,
                                        pod_id="POD-000002", mtu=mtu, quantity=kw,
                                        awarded_quantity=kw, bid_price_eur_per_mwh=price,
                                        price_eur_per_mwh=price, value_cents=cents)
                   for i, (mtu, kw, price, cents) in enumerate(
                       [(70, 2.0, 120.0, 6), (71, 3.0, 150.0, 11)], start=1))
    outcome = new_event(make_validated_outcome(awards), actor="MARKET")
    publish(market.settings, [outcome])
    market.wait_until(select(func.count()).select_from(OutcomeRow).where(
        OutcomeRow.event_id == str(outcome.event_id)), 1, "validated outcome")
    _projected(market, FlexOfferRow, "offer_id", offer_id, "UftpFlexOfferReceived")
    orders_url = f"/v1/uftp/sessions/{DA_SESSION}/orders"
    received = client.get(f"{orders_url}/AGG-1", headers=AGG_1)
    assert received.status_code == 200, received.text
    orders = ET.fromstring(received.text).findall("FlexOrder")
    assert len(orders) == 1
    order = orders[0]
    assert order.get("OrderReference") == f"{outcome.event_id}/AW-1+AW-2"
    assert order.get("FlexOfferSequence") == "20260609144500000"
    offered = ET.fromstring(client.get(taken.headers["location"], headers=AGG_1).text)
    assert [p.attrib for p in order.findall("PTU")] == [p.attrib for p in offered.findall("PTU")]
    sent = client.get(f"{orders_url}/DSO-1", headers=DSO_1)
    assert _c14n(sent.text) == _c14n(received.text)
    assert client.get(f"{orders_url}/AGG-1", headers=bearer(
        "AGG-2", "aggregator")).status_code == 403


def test_a_message_beyond_what_the_market_keeps_or_its_calendar_writes_nothing(
        market: Market, client: TestClient) -> None:
    """Two messages that pass the reader but cannot be taken: one whose canonical form
    (each ">" of its text escaped) outgrows what an event keeps, one for a day beyond the
    calendar. Each is a 422 naming the field, and nothing reaches the log."""
    before = market.submissions_on_log()
    offer = variant_xml("flex_offer", metadata={"message_id": str(uuid.uuid4())})
    padded = offer.replace("</FlexOffer>", f"<x:Note xmlns:x='urn:example'>{'>' * 200_000}"
                                          "</x:Note></FlexOffer>")
    too_large = _post(client, padded, AGG_1)
    assert too_large.status_code == 422, too_large.text
    assert "UFTP_TOO_LARGE (body)" in (ET.fromstring(too_large.text).get("Message") or "")

    far = _post(client, variant_xml("flex_offer", period=date(9999, 12, 31), metadata={
        "message_id": str(uuid.uuid4())}), AGG_1)
    assert far.status_code == 422, far.text
    assert "UFTP_PERIOD (FlexOffer.Period)" in (ET.fromstring(far.text).get("Message") or "")
    assert market.submissions_on_log() == before
