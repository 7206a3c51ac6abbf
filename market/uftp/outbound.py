"""flexmarket's records as UFTP messages: an offer or request that did not arrive as UFTP,
the FlexOrders of a validated outcome, and the responses to messages received.

An offer or request that arrived as UFTP is given back as it was kept; one submitted as
JSON has none of UFTP's own fields, so they are made from what the market knows:
MessageID and ConversationID are its event id, TimeStamp and Sequence its time of
acceptance, ExpirationDateTime the session's gate closure, Precedence ``Routine``, the
recipient the market, and the ``CongestionPoint`` ``ea1.<delivery yyyy-mm>.<owner's
domain>:<PoD or kind/id>`` as ``inbound.py`` reads it. An offer answers the session rather
than one request: its FlexRequestOrigin is the market and FlexRequestSequence 0; a
request rests on no USEF prognosis: PrognosisOrigin is its requester, PrognosisSequence 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from ledger.errors import Conflict
from market.domain.calendar import SessionSlot, delivery_mtus
from market.domain.events import (
    FlexOfferSubmitted,
    FlexRequestSubmitted,
    ValidatedAward,
)
from market.uftp.identity import Directory
from market.uftp.messages import (
    FlexMessage,
    FlexOffer,
    FlexOfferResponse,
    FlexOrder,
    FlexRequest,
    FlexRequestResponse,
    MessageMetadata,
    Ptu,
)
from market.uftp.units import (
    CURRENCY,
    local_time,
    mtu_of,
    price_of,
    ptu_of,
    sequence_of,
    watts_of,
)

PTU_DURATION = "PT15M"
NO_SEQUENCE = 0
_IDS = uuid5(NAMESPACE_URL, "urn:flexmarket:uftp")


def message_id(*parts: str) -> str:
    """A MessageID that is the same each time the market makes the same message, so a
    message read twice is one message to its recipient."""
    return str(uuid5(_IDS, "\x1f".join(parts)))


def _entity_address(slot: SessionSlot, domain: str, local: str) -> str:
    return f"ea1.{slot.delivery_day:%Y-%m}.{domain}:{local}"


def _expressible(quantity_type: str, field: str) -> None:
    if quantity_type != "P":
        raise Conflict("UFTP's Power is active power (W): a reactive-power (kVAr) record has "
                       "no UFTP form", code="UFTP_REACTIVE_POWER", field=field)


def flex_offer_of(offer: FlexOfferSubmitted, event_id: str, submitted_at: datetime,
                  slot: SessionSlot, zone: ZoneInfo, directory: Directory) -> FlexOffer:
    """A FlexOffer of an offer submitted as JSON (event ``event_id``, accepted at
    ``submitted_at``): one PTU per price step.

    Raises:
        Conflict: ``UFTP_REACTIVE_POWER``, ``UFTP_FLEXIBLE_BLOCK`` (UFTP offers fixed
            PTUs), ``UFTP_PRICE_LADDER`` (UFTP has one price per PTU); ``NO_UFTP_DOMAIN``.
    """
    _expressible(offer.quantity_type, "quantity_type")
    if offer.block is not None:
        raise Conflict("a flexible block has no fixed PTUs to offer in UFTP",
                       code="UFTP_FLEXIBLE_BLOCK", field="block")
    ptus = []
    for i, step in enumerate(offer.steps):
        if any(s.mtu == step.mtu for s in offer.steps[:i]):
            raise Conflict(f"MTU {step.mtu} has several price steps; a UFTP PTU has one "
                           "price", code="UFTP_PRICE_LADDER", field=f"steps.{i}.mtu")
        power = watts_of(step.quantity, offer.direction)
        ptus.append(Ptu(power=power, start=ptu_of(step.mtu),
                        price=price_of(step.price_eur_per_mwh, power)))
    sender = directory.domain_of(offer.aggregator_id)
    return FlexOffer(
        metadata=MessageMetadata(
            sender_domain=sender, sender_role="AGR", recipient_domain=directory.market_domain,
            recipient_role="DSO", time_stamp=local_time(submitted_at, zone),
            message_id=event_id, conversation_id=event_id, precedence="Routine"),
        ptus=tuple(sorted(ptus, key=lambda p: p.start)), ptu_duration=PTU_DURATION,
        period=slot.delivery_day, time_zone=zone.key,
        congestion_point=_entity_address(slot, sender, offer.pod_id),
        sequence=sequence_of(submitted_at, zone),
        expiration_date_time=local_time(slot.gate_closes_at, zone),
        flex_request_origin=directory.market_domain, flex_request_sequence=NO_SEQUENCE,
        currency=CURRENCY)


def _available(requested: set[int], count: int) -> list[Ptu]:
    """The day's other PTUs as runs of ``Disposition="Available"`` at 0 W: USEF asks a
    request to cover its whole Period, and flexmarket's requests ask, they offer no room."""
    runs: list[Ptu] = []
    start = None
    for number in range(1, count + 2):
        free = number <= count and number not in requested
        if free and start is None:
            start = number
        elif not free and start is not None:
            runs.append(Ptu(disposition="Available", power=0, start=start,
                            duration=number - start))
            start = None
    return runs


def flex_request_of(request: FlexRequestSubmitted, event_id: str, submitted_at: datetime,
                    slot: SessionSlot, zone: ZoneInfo, directory: Directory) -> FlexRequest:
    """A FlexRequest of a request submitted as JSON: a Requested PTU per MTU asked for,
    the rest of the day Available. The eligible PoDs have no UFTP place; a DSO's UFTP
    request is served by every PoD under its grid point.

    Raises:
        Conflict: ``UFTP_REACTIVE_POWER``; ``NO_UFTP_DOMAIN``.
    """
    _expressible(request.quantity_type, "quantity_type")
    requested = [Ptu(disposition="Requested", power=watts_of(q.quantity, request.direction),
                     start=ptu_of(q.mtu)) for q in request.quantities]
    numbers = {p.start for p in requested}
    count = len(delivery_mtus(slot.delivery_day, zone))
    sender = directory.domain_of(request.requester_id)
    location = request.location
    return FlexRequest(
        metadata=MessageMetadata(
            sender_domain=sender, sender_role="DSO", recipient_domain=directory.market_domain,
            recipient_role="AGR", time_stamp=local_time(submitted_at, zone),
            message_id=event_id, conversation_id=event_id, precedence="Routine"),
        ptus=tuple(sorted([*requested, *_available(numbers, count)], key=lambda p: p.start)),
        ptu_duration=PTU_DURATION, period=slot.delivery_day, time_zone=zone.key,
        congestion_point=_entity_address(slot, sender, f"{location.kind}/{location.id}"),
        sequence=sequence_of(submitted_at, zone),
        expiration_date_time=local_time(slot.gate_closes_at, zone),
        prognosis_origin=sender, prognosis_sequence=NO_SEQUENCE)


def _offered(offer: FlexOffer) -> dict[int, int]:
    return {mtu_of(n): p.power for p in offer.ptus for n in p.numbers}


def _in_full(offer: FlexOffer, awards: Sequence[ValidatedAward]) -> bool:
    """Whether ``awards`` take ``offer`` as offered: every PTU, all its power, at the
    offered price."""
    taken: dict[int, float] = defaultdict(float)
    for award in awards:
        taken[award.mtu] += award.quantity
    offered = _offered(offer)
    return (taken.keys() == offered.keys()
            and all(watts_of(taken[m], "down") == abs(offered[m]) for m in offered)
            and all(a.price_eur_per_mwh == a.bid_price_eur_per_mwh for a in awards))


def _as_awarded(offer: FlexOffer, awards: Sequence[ValidatedAward]) -> tuple[Ptu, ...]:
    sign = -1 if next(iter(offer.ptus)).power < 0 else 1
    by_mtu: dict[int, list[ValidatedAward]] = defaultdict(list)
    for award in awards:
        by_mtu[award.mtu].append(award)
    ptus = []
    for mtu, lines in sorted(by_mtu.items()):
        powers = [watts_of(a.quantity, "down") for a in lines]
        price = sum((price_of(a.price_eur_per_mwh, w) for a, w in zip(lines, powers,
                                                                        strict=True)),
                    Decimal("0.0000"))
        ptus.append(Ptu(power=sign * sum(powers), start=ptu_of(mtu), price=price))
    return tuple(ptus)


def flex_order_of(offer: FlexOffer, awards: Sequence[ValidatedAward], *, buyer_domain: str,
                  reference: str, at: datetime, expires: datetime,
                  zone: ZoneInfo) -> FlexOrder:
    """The FlexOrder by which the requester of ``awards`` (all of one offer and one
    requester, with an accepted quantity) buys ``offer``.

    Its PTUs are the offer's, copied verbatim, when the awards take it as offered (USEF:
    an aggregator refuses an order whose PTUs differ from its offer's). flexmarket also
    awards part of an offer — some PTUs, less power after technical validation, or a
    clearing price below the bid — which USEF cannot order; such an order lists the PTUs
    as awarded, quantity and price, and a strictly USEF aggregator will refuse it rather
    than deliver the whole offer.

    Args:
        reference: the OrderReference, naming the awards (the aggregator settles by it).
        at: when the market made the order (the validated outcome's publication).
        expires: until when it holds (the end of the session's delivery).
    """
    ptus = offer.ptus if _in_full(offer, awards) else _as_awarded(offer, awards)
    return FlexOrder(
        metadata=MessageMetadata(
            sender_domain=buyer_domain, sender_role="DSO",
            recipient_domain=offer.metadata.sender_domain, recipient_role="AGR",
            time_stamp=local_time(at, zone), message_id=message_id("FlexOrder", reference),
            conversation_id=offer.metadata.conversation_id, precedence="Critical"),
        ptus=ptus, ptu_duration=offer.ptu_duration, period=offer.period,
        time_zone=offer.time_zone, congestion_point=offer.congestion_point,
        sequence=sequence_of(at, zone), expiration_date_time=local_time(expires, zone),
        flex_offer_origin=offer.metadata.sender_domain, flex_offer_sequence=offer.sequence,
        currency=offer.currency, order_reference=reference)


def response_to(message: FlexMessage, *, accepted: bool, text: str | None, at: datetime,
                zone: ZoneInfo) -> FlexOfferResponse | FlexRequestResponse:
    """The market's answer to ``message``: from whom it was addressed to, back to its
    sender, in its conversation, with its Sequence."""
    received = message.metadata
    result = "Accepted" if accepted else "Rejected"
    kind = FlexOfferResponse if isinstance(message, FlexOffer) else FlexRequestResponse
    return kind(
        metadata=MessageMetadata(
            sender_domain=received.recipient_domain, sender_role=received.recipient_role,
            recipient_domain=received.sender_domain, recipient_role=received.sender_role,
            time_stamp=local_time(at, zone),
            message_id=message_id(kind.__name__, received.message_id, result),
            conversation_id=received.conversation_id, precedence=received.precedence),
        sequence=message.sequence, result=result, message=text)
