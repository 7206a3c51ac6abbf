"""The USEF Flex* codec (WiseGRID D4.2 Annex 10.9): a message read and written back is the
message read, and input the XSDs refuse is refused naming the element and attribute."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from ledger.errors import Rejected
from market.uftp.codec import canonical, read_message, write_message
from market.uftp.messages import FlexOffer, FlexOrder, FlexRequest
from tests.uftp_samples import SAMPLES, sample, sample_bytes

OFFER = sample_bytes("flex_offer").decode()


@pytest.mark.parametrize("name", SAMPLES)
def test_usef_sample_round_trips_unchanged(name: str) -> None:
    """Read and written back, each sample is the same document (canonical XML, C14N 2.0)."""
    data = sample_bytes(name)
    assert write_message(read_message(data)) == ET.canonicalize(data.decode(), strip_text=True)
    assert canonical(data) == write_message(read_message(data))


def test_a_message_is_read_into_its_typed_fields() -> None:
    offer = sample("flex_offer")
    assert isinstance(offer, FlexOffer)
    assert (offer.metadata.sender_domain, offer.metadata.sender_role) == (
        "agg-1.flexmarket.local", "AGR")
    assert offer.metadata.valid_until == "2026-06-09T16:00:00.000+02:00"
    assert (offer.sequence, offer.flex_request_sequence) == (20260609144500000,
                                                           20260609143000000)
    assert [(p.start, p.duration, p.power, p.price) for p in offer.ptus] == [
        (71, None, -2000, Decimal("0.0600")), (72, 1, -3000, Decimal("0.1125"))]
    assert isinstance(sample("flex_request"), FlexRequest)
    assert isinstance(sample("flex_order"), FlexOrder)


def test_values_keep_their_spelling_and_an_absent_duration_stays_absent() -> None:
    """A FlexOrder repeats the offer's PTUs as offered: a price's trailing zeros, a
    time's milliseconds and offset, and a Duration left out are written as read."""
    written = write_message(sample("flex_offer"))
    assert 'Price="0.0600"' in written and 'Price="0.06"' not in written
    assert 'TimeStamp="2026-06-09T14:45:00.000+02:00"' in written
    first_ptu = ET.fromstring(written).findall("PTU")[0]
    assert "Duration" not in first_ptu.attrib


def test_elements_of_other_namespaces_are_kept() -> None:
    """FlexBase ends with ``xs:any namespace="##other"``: such elements survive a round
    trip (their prefixes may be renamed, hence the comparison with rewritten prefixes)."""
    extended = OFFER.replace(
        "</FlexOffer>", '<x:Note xmlns:x="urn:example:note" text="from the portfolio"/>'
                        "</FlexOffer>")
    again = write_message(read_message(extended.encode()))
    assert ET.canonicalize(again, rewrite_prefixes=True) == ET.canonicalize(
        extended, strip_text=True, rewrite_prefixes=True)


BAD = [
    ('Power="-2000"', 'Power="-2000.5"', "FlexOffer.PTU.0.Power"),
    ('Price="0.1125"', 'Price="0.11251"', "FlexOffer.PTU.1.Price"),
    ('Price="0.1125"', 'Price="1e2"', "FlexOffer.PTU.1.Price"),
    ('Start="72"', 'Start="seventy-two"', "FlexOffer.PTU.1.Start"),
    ('SenderDomain="agg-1.flexmarket.local" ', "", "FlexOffer.MessageMetadata.SenderDomain"),
    ('SenderRole="AGR"', 'SenderRole="TSO"', "FlexOffer.MessageMetadata.SenderRole"),
    ('MessageID="ff0cb156-e7f7-40b0-9d81-89941b29a9cf"', 'MessageID="offer-1"',
     "FlexOffer.MessageMetadata.MessageID"),
    ('TimeStamp="2026-06-09T14:45:00.000+02:00"', 'TimeStamp="2026-06-09T14:45:00"',
     "FlexOffer.MessageMetadata.TimeStamp"),
    ('Precedence="Transactional"', 'Precedence="Urgent"', "FlexOffer.MessageMetadata.Precedence"),
    ('Period="2026-06-10"', 'Period="10/06/2026"', "FlexOffer.Period"),
    ('TimeZone="Europe/Rome"', 'TimeZone="Mars/Olympus"', "FlexOffer.TimeZone"),
    ('PTU-Duration="PT15M"', 'PTU-Duration="15 minutes"', "FlexOffer.PTU-Duration"),
    ('Currency="EUR"', 'Currency="euro"', "FlexOffer.Currency"),
    ('CongestionPoint="ea1.2026-06.agg-1.flexmarket.local:POD-000001"',
     'CongestionPoint="POD-000001"', "FlexOffer.CongestionPoint"),
    ('Sequence="20260609144500000"', 'Sequence="99999999999999999999"', "FlexOffer.Sequence"),
    ('Currency="EUR">', 'Currency="EUR" Comment="hi">', "FlexOffer.Comment"),
    ('<PTU Power="-2000"', '<PTU Colour="red" Power="-2000"', "FlexOffer.PTU.0.Colour"),
    ('<PTU Power="-3000"', '<Bonus/><PTU Power="-3000"', "FlexOffer.Bonus"),
    ('Start="71" Price="0.0600"/>', 'Start="71" Price="0.0600">71</PTU>', "FlexOffer.PTU.0"),
]


@pytest.mark.parametrize(("old", "new", "field"), BAD, ids=[b[2] for b in BAD])
def test_input_the_xsd_refuses_is_rejected_naming_the_field(old: str, new: str,
                                                             field: str) -> None:
    assert old in OFFER
    with pytest.raises(Rejected) as refused:
        read_message(OFFER.replace(old, new, 1).encode())
    assert (refused.value.code, refused.value.field) == ("UFTP_INVALID", field)
    assert refused.value.http_status == 422


@pytest.mark.parametrize(("data", "code"), [
    (b"", "UFTP_NOT_XML"),
    (b'{"offer": 1}', "UFTP_NOT_XML"),
    (OFFER[:200].encode(), "UFTP_NOT_XML"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><FlexOffer>&b;'
     b"</FlexOffer>", "UFTP_NOT_XML"),
    (b"<FlexOfferRevocation/>", "UFTP_UNKNOWN_MESSAGE"),
    (OFFER.replace("<FlexOffer ", '<FlexOffer xmlns="urn:x" ').encode(),
     "UFTP_UNKNOWN_MESSAGE"),
    (b"<FlexOffer" + b" " * 300_000 + b"/>", "UFTP_NOT_XML"),
])
def test_what_is_no_flex_message_is_rejected_as_the_body(data: bytes, code: str) -> None:
    """Not XML, a DTD (no entity is ever expanded), too large, or another root element:
    the body is at fault."""
    with pytest.raises(Rejected) as refused:
        read_message(data)
    assert (refused.value.code, refused.value.field) == (code, "body")


def test_metadata_comes_first() -> None:
    moved = OFFER.replace('<PTU Power="-2000" Start="71" Price="0.0600"/>', "").replace(
        "<MessageMetadata", '<PTU Power="-2000" Start="71" Price="0.0600"/><MessageMetadata')
    with pytest.raises(Rejected) as refused:
        read_message(moved.encode())
    assert refused.value.field == "FlexOffer.MessageMetadata"


def test_the_codec_is_pure() -> None:
    """No web, stream, SQL or chain module is loaded by the codec, its models and the
    export mapping."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, market.uftp.codec, market.uftp.identity, "
         "market.uftp.outbound; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout
    roots = {name.split(".")[0] for name in json.loads(loaded)}
    assert not roots & {"fastapi", "starlette", "sqlalchemy", "faust", "kafka", "aiokafka",
                        "web3", "httpx", "requests", "psycopg"}
