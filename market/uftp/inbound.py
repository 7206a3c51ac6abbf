"""UFTP messages into flexmarket submissions: a FlexOffer becomes an offer, a FlexRequest a
request, which then meet the same rules as a native one (``market.domain.submissions``,
on the native write path). What is checked here is what UFTP itself requires of a message
the market takes, and what the market needs of it that UFTP leaves open.

Mapping (units in ``units.py``):

- FlexOffer → offer: the sender is the aggregator; ``CongestionPoint`` names the PoD
  (``ea1.<yyyy-mm>.<domain>:<PoD id>``, or ``ean.<PoD id>`` for an all-digit EAN):
  flexmarket offers a PoD's flexibility, and an entity address is how USEF names a
  connection. Each PTU of each PTU element is one price step, in active power (P),
  all-or-nothing: USEF orders an offer as offered or not at all.
- FlexRequest → request: the sender is the DSO (a TSO sends as USEF's DSO); its
  ``CongestionPoint`` names the grid point (``ea1.<yyyy-mm>.<domain>:<kind>/<id>``, kind one
  of ``primary_substation``, ``mv_feeder``, ``secondary_substation`` or ``pom``); the PTUs
  with ``Disposition="Requested"`` are the quantities asked for; service congestion.
- Both: ``Period`` is the delivery day, and the message enters that day's session that is
  open when it arrives.

What the market has no place for (metadata, sequences, origins, expiry, the PTU layout,
Available PTUs) stays in the message, which the market keeps beside the submission
(``UftpFlexOfferReceived``, ``UftpFlexRequestReceived``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import get_args
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ledger.errors import Conflict, Rejected
from market.api.v1.schemas import FlexOfferCreate, FlexRequestCreate
from market.domain.calendar import (
    FIRST_DAY,
    LAST_DAY,
    MTU,
    SessionSlot,
    SessionState,
    day_sessions,
    delivery_mtus,
)
from market.domain.events import GridPoint, GridPointKind, MtuQuantity, PriceStep, Role
from market.uftp.messages import FlexOffer, FlexRequest, Ptu, duration_seconds, instant
from market.uftp.units import CURRENCY, direction_of, eur_per_mwh_of, kw_of, mtu_of

_POD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")  # the events' Identifier


def day_session(period: date, zone: ZoneInfo, now: datetime) -> SessionSlot:
    """The session of delivery day ``period`` a UFTP message enters: the one open at
    ``now`` (the day's sessions never overlap), else the day-ahead one, whose check then
    says why it takes nothing now. UFTP names a day, not a session."""
    slots = day_sessions(period, zone)
    return next((s for s in slots if s.state_at(now) is SessionState.OPEN), slots[0])


def check_message(message: FlexOffer | FlexRequest, time_zone: str, now: datetime) -> None:
    """``message`` is one the market can take at ``now`` (D4.2 §10.9: reject a wrong PTU
    duration or UTC offset; a message is not processed after it expires).

    Raises:
        Rejected: ``UFTP_PERIOD`` (a day beyond the calendar),
            ``UFTP_PTU_DURATION``, ``UFTP_TIME_ZONE``.
        Conflict: ``UFTP_MESSAGE_EXPIRED`` after ``ValidUntil`` or ``ExpirationDateTime``.
    """
    root = type(message).__name__
    if not FIRST_DAY <= message.period <= LAST_DAY:
        raise Rejected(f"Period {message.period} is beyond the market's calendar",
                       code="UFTP_PERIOD", field=f"{root}.Period")
    if duration_seconds(message.ptu_duration) != MTU.total_seconds():
        raise Rejected(f"the market's PTU is PT15M, not {message.ptu_duration}",
                       code="UFTP_PTU_DURATION", field=f"{root}.PTU-Duration")
    if message.time_zone != time_zone:
        raise Rejected(f"the market's PTUs count on {time_zone}'s clock, not "
                       f"{message.time_zone}'s", code="UFTP_TIME_ZONE", field=f"{root}.TimeZone")
    for field, until in (("MessageMetadata.ValidUntil", message.metadata.valid_until),
                         ("ExpirationDateTime", message.expiration_date_time)):
        if until is not None and instant(until) <= now:
            raise Conflict(f"the message expired at {until}", code="UFTP_MESSAGE_EXPIRED",
                           field=f"{root}.{field}")


def _mtus(ptus: tuple[Ptu, ...], period: date, zone: ZoneInfo,
          root: str) -> Iterator[tuple[str, Ptu, int]]:
    """Each PTU of each element with its field and MTU, once each and within the day."""
    count = len(delivery_mtus(period, zone))
    seen: set[int] = set()
    for i, ptu in enumerate(ptus):
        where = f"{root}.PTU.{i}"
        if ptu.duration is not None and ptu.duration < 1:
            raise Rejected(f"{where} lasts at least one PTU", code="UFTP_PTU_RANGE",
                           field=f"{where}.Duration")
        for number in ptu.numbers:
            if not 1 <= number <= count:
                raise Rejected(f"{where}: PTU {number} is not one of {period}'s 1..{count}",
                               code="UFTP_PTU_RANGE", field=f"{where}.Start")
            if number in seen:
                raise Rejected(f"{where}: PTU {number} is given twice", code="UFTP_PTU_REPEATED",
                               field=f"{where}.Start")
            seen.add(number)
            yield where, ptu, mtu_of(number)


def _one_direction(ptus: list[tuple[str, Ptu, int]], root: str) -> str:
    for where, ptu, _ in ptus:
        if ptu.power == 0:
            raise Rejected(f"{where} asks or offers no power", code="UFTP_ZERO_POWER",
                           field=f"{where}.Power")
    directions = {direction_of(ptu.power) for _, ptu, _ in ptus}
    if len(directions) > 1:
        where = next(w for w, p, _ in ptus if direction_of(p.power) != direction_of(
            ptus[0][1].power))
        raise Rejected(f"{root}'s PTUs are all towards the grid or all towards the prosumer "
                       "(one direction per request or offer)", code="UFTP_MIXED_DIRECTIONS",
                       field=f"{where}.Power")
    return directions.pop()


def _local_part(address: str | None, root: str) -> str:
    field = f"{root}.CongestionPoint"
    if address is None:
        raise Rejected(f"{root} names its congestion point", code="UFTP_CONGESTION_POINT",
                       field=field)
    return address.split(":", 1)[1] if address.startswith("ea1.") else address[len("ean."):]


def offer_pod(message: FlexOffer) -> str:
    """The PoD a FlexOffer offers: its ``CongestionPoint``'s local part.

    Raises:
        Rejected: ``UFTP_CONGESTION_POINT``: none, or not a PoD id.
    """
    pod_id = _local_part(message.congestion_point, "FlexOffer")
    if not _POD_ID.match(pod_id):
        raise Rejected(f"{pod_id!r} is not a PoD id", code="UFTP_CONGESTION_POINT",
                       field="FlexOffer.CongestionPoint")
    return pod_id


def request_location(message: FlexRequest) -> GridPoint:
    """The grid point a FlexRequest is about: ``<kind>/<id>`` in its ``CongestionPoint``.

    Raises:
        Rejected: ``UFTP_CONGESTION_POINT``: none, or not a grid point.
    """
    kind, _, point = _local_part(message.congestion_point, "FlexRequest").partition("/")
    try:
        if kind not in get_args(GridPointKind):
            raise ValueError(kind)
        return GridPoint(kind=kind, id=point)  # type: ignore[arg-type]
    except ValueError:
        raise Rejected(f"{message.congestion_point} names no grid point: its local part is "
                       f"<kind>/<id>, kind one of {', '.join(get_args(GridPointKind))}",
                       code="UFTP_CONGESTION_POINT", field="FlexRequest.CongestionPoint") from None


def offer_submission(message: FlexOffer, aggregator_id: str, slot: SessionSlot,
                     zone: ZoneInfo) -> FlexOfferCreate:
    """The native offer a FlexOffer is, in ``slot``.

    Raises:
        Rejected: another currency, no PTUs, a PTU without a price or with a Disposition,
            PTUs outside the day or given twice, no power, two directions — each naming
            the field.
    """
    if message.currency != CURRENCY:
        raise Rejected(f"the market pays in {CURRENCY}, not {message.currency}",
                       code="UFTP_CURRENCY", field="FlexOffer.Currency")
    pod_id = offer_pod(message)
    ptus = list(_mtus(message.ptus, message.period, zone, "FlexOffer"))
    if not ptus:
        raise Rejected("an empty FlexOffer offers nothing", code="UFTP_EMPTY_OFFER",
                       field="FlexOffer.PTU")
    direction = _one_direction(ptus, "FlexOffer")
    steps = []
    for where, ptu, mtu in ptus:
        if ptu.disposition is not None:
            raise Rejected(f"{where}: Disposition is for FlexRequests", code="UFTP_INVALID",
                           field=f"{where}.Disposition")
        if ptu.price is None:
            raise Rejected(f"{where} has a Price", code="UFTP_NO_PRICE", field=f"{where}.Price")
        try:
            steps.append(PriceStep(mtu=mtu, quantity=kw_of(ptu.power),
                                   price_eur_per_mwh=eur_per_mwh_of(ptu.price, ptu.power)))
        except ValidationError as exc:
            name = {"quantity": "Power", "price_eur_per_mwh": "Price"}.get(
                str(exc.errors()[0]["loc"][0]), "Start")
            raise Rejected(f"{where}.{name}: {exc.errors()[0]['msg']} (as "
                           f"{exc.errors()[0]['loc'][0]})", code="UFTP_OUT_OF_RANGE",
                           field=f"{where}.{name}") from None
    return FlexOfferCreate(aggregator_id=aggregator_id, pod_id=pod_id,
                           market_type=slot.kind.value, quantity_type="P",
                           direction=direction, divisible=False, steps=steps)


def request_submission(message: FlexRequest, requester_id: str, role: Role,
                       slot: SessionSlot, zone: ZoneInfo,
                       eligible_pods: list[str]) -> FlexRequestCreate:
    """The native request a FlexRequest is, in ``slot``, served by ``eligible_pods`` (a
    DSO's: the PoDs under its grid point; a TSO's: none, its PoM says).

    Raises:
        Rejected: a PTU without a Disposition or with a Price, PTUs outside the day or
            given twice, nothing Requested, no power, two directions — each naming the
            field; too many eligible PoDs.
    """
    location = request_location(message)
    ptus = list(_mtus(message.ptus, message.period, zone, "FlexRequest"))
    for where, ptu, _ in ptus:
        if ptu.disposition is None:
            raise Rejected(f"{where} says Requested or Available", code="UFTP_INVALID",
                           field=f"{where}.Disposition")
        if ptu.price is not None:
            raise Rejected(f"{where}: Price is for FlexOffers and FlexOrders",
                           code="UFTP_INVALID", field=f"{where}.Price")
    requested = [p for p in ptus if p[1].disposition == "Requested"]
    if not requested:
        raise Rejected("a FlexRequest has PTUs with Disposition=Requested",
                       code="UFTP_NOTHING_REQUESTED", field="FlexRequest.PTU")
    direction = _one_direction(requested, "FlexRequest")
    try:
        quantities = [MtuQuantity(mtu=mtu, quantity=kw_of(ptu.power))
                      for _, ptu, mtu in requested]
        return FlexRequestCreate(
            requester_id=requester_id, role=role, market_type=slot.kind.value,
            service="congestion", quantity_type="P", direction=direction, location=location,
            eligible_pods=eligible_pods, quantities=quantities)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise Rejected(f"{field}: {first['msg']}", code="UFTP_OUT_OF_RANGE",
                       field=field) from None
