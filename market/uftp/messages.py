"""The USEF Flex* messages as typed values, one field per XSD attribute (WiseGRID D4.2
Annex 10.9): FlexRequest, FlexOffer and FlexOrder with their MessageMetadata and PTUs, and
the responses the market answers with.

The constraints are the XSDs' and no more, so any message a UFTP participant may send is
read; what flexmarket additionally requires of one is ``inbound.py``'s. A value keeps the
spelling it arrived in where its XSD type has several that the market cannot tell apart
from its value (a price's trailing zeros, a time's fraction and offset): a FlexOrder must
repeat the offer's PTUs exactly as offered. Integers are written in their one canonical
spelling.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# The XSDs' simple types (§10.9). The seed's EntityAddress pattern is garbled by its text
# extraction; this one is USEF's own.
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
DOMAIN_PATTERN = r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$"
ENTITY_ADDRESS_PATTERN = r"^(ea1\.[0-9]{4}-[0-9]{2}\..{1,244}:.{1,244}|ean\.[0-9]{12,34})$"
TIME_ZONE_PATTERN = r"^(Africa|America|Australia|Europe|Pacific)/[a-zA-Z0-9_]{3,}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
PRICE_FRACTION_DIGITS = 4  # CurrencyAmount: xs:decimal, fractionDigits 4

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# "including the time zone" (the XSDs' documentation of every xs:dateTime here).
_DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")
_DURATION = re.compile(r"^P(?!$)([0-9]+Y)?([0-9]+M)?([0-9]+D)?"
                       r"(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?$")


def _xs_integer(value: Any) -> Any:
    if isinstance(value, str):
        if not _INTEGER.match(value.strip()):
            raise ValueError(f"{value!r} is not an xs:integer")
        return int(value.strip())
    return value


def _xs_decimal(value: Any) -> Any:
    if isinstance(value, str):
        if not _DECIMAL.match(value.strip()):
            raise ValueError(f"{value!r} is not an xs:decimal")
        return Decimal(value.strip())
    return value


def _fraction_digits(value: Decimal) -> Decimal:
    if not value.is_finite() or -min(0, int(value.normalize().as_tuple().exponent)) > \
            PRICE_FRACTION_DIGITS:
        raise ValueError(f"{value} has more than {PRICE_FRACTION_DIGITS} fraction digits")
    return value


def _xs_date(value: Any) -> Any:
    if isinstance(value, str) and not _DATE.match(value):
        raise ValueError(f"{value!r} is not a date (yyyy-mm-dd)")
    return value


def _xs_date_time(value: str) -> str:
    if not _DATE_TIME.match(value):
        raise ValueError(f"{value!r} is not an xs:dateTime with a time zone")
    instant(value)  # a real day and time, not just digits in place
    return value


def _xs_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not an xs:duration")
    return value


XsInteger = Annotated[int, BeforeValidator(_xs_integer)]
XsLong = Annotated[int, BeforeValidator(_xs_integer), Field(ge=-2**63, le=2**63 - 1)]
CurrencyAmount = Annotated[Decimal, BeforeValidator(_xs_decimal),
                           AfterValidator(_fraction_digits)]
XsDate = Annotated[date, BeforeValidator(_xs_date)]
XsDateTime = Annotated[str, AfterValidator(_xs_date_time)]
XsDuration = Annotated[str, AfterValidator(_xs_duration)]
InternetDomain = Annotated[str, Field(pattern=DOMAIN_PATTERN)]

UsefRole = Literal["AGR", "BRP", "CRO", "DSO", "MDC"]
Precedence = Literal["Routine", "Transactional", "Critical"]
Disposition = Literal["Available", "Requested"]
Result = Literal["Accepted", "Rejected"]


def instant(text: str) -> datetime:
    """The aware instant an xs:dateTime with a time zone names."""
    return datetime.fromisoformat(text)


def duration_seconds(text: str) -> float | None:
    """How long an xs:duration of days, hours, minutes and seconds lasts, in seconds;
    None for one counted in years or months, whose length depends on when it starts."""
    found = _DURATION.match(text)
    if found is None or found[1] or found[2]:
        return None
    days, hours, minutes, seconds = (found[i] for i in (3, 5, 6, 7))
    return (int((days or "0D")[:-1]) * 86400 + int((hours or "0H")[:-1]) * 3600
            + int((minutes or "0M")[:-1]) * 60 + float((seconds or "0S")[:-1]))


class _Element(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class MessageMetadata(_Element):
    """What every USEF message carries: who sends it to whom, when, and its ids."""

    sender_domain: InternetDomain = Field(alias="SenderDomain")
    sender_role: UsefRole = Field(alias="SenderRole")
    recipient_domain: InternetDomain = Field(alias="RecipientDomain")
    recipient_role: UsefRole = Field(alias="RecipientRole")
    time_stamp: XsDateTime = Field(alias="TimeStamp")
    message_id: str = Field(alias="MessageID", pattern=UUID_PATTERN)
    conversation_id: str = Field(alias="ConversationID", pattern=UUID_PATTERN)
    precedence: Precedence = Field(alias="Precedence")
    valid_until: XsDateTime | None = Field(None, alias="ValidUntil")


class Ptu(_Element):
    """One or more consecutive PTUs (``Duration``, 1 when absent) from PTU ``Start`` (the
    day's first is 1) at ``Power`` W: positive towards the prosumer (consumption),
    negative towards the grid. ``Price`` is the currency amount for the flexibility of
    each PTU (FlexOffer, FlexOrder); ``Disposition`` tells a request from room available
    (FlexRequest)."""

    disposition: Disposition | None = Field(None, alias="Disposition")
    power: XsInteger = Field(alias="Power")
    start: XsInteger = Field(alias="Start")
    duration: XsInteger | None = Field(None, alias="Duration")
    price: CurrencyAmount | None = Field(None, alias="Price")

    @property
    def numbers(self) -> range:
        """The PTU numbers this element covers."""
        return range(self.start, self.start + (1 if self.duration is None else self.duration))


class _FlexBase(_Element):
    """FlexBase: the attributes FlexRequest, FlexOffer and FlexOrder share. ``extensions``
    are the ``xs:any namespace="##other"`` elements, kept as XML text."""

    metadata: MessageMetadata = Field(alias="MessageMetadata")
    ptus: tuple[Ptu, ...] = Field((), alias="PTU")
    extensions: tuple[str, ...] = ()
    ptu_duration: XsDuration = Field(alias="PTU-Duration")
    period: XsDate = Field(alias="Period")
    time_zone: str = Field(alias="TimeZone", pattern=TIME_ZONE_PATTERN)
    congestion_point: str | None = Field(None, alias="CongestionPoint",
                                         pattern=ENTITY_ADDRESS_PATTERN)
    sequence: XsLong = Field(alias="Sequence")
    expiration_date_time: XsDateTime = Field(alias="ExpirationDateTime")


class FlexRequest(_FlexBase):
    """A DSO's (or BRP's) request for flexibility from aggregators."""

    prognosis_origin: InternetDomain = Field(alias="PrognosisOrigin")
    prognosis_sequence: XsLong = Field(alias="PrognosisSequence")


class FlexOffer(_FlexBase):
    """An aggregator's offer of flexibility, answering a FlexRequest."""

    flex_request_origin: InternetDomain = Field(alias="FlexRequestOrigin")
    flex_request_sequence: XsLong = Field(alias="FlexRequestSequence")
    currency: str = Field(alias="Currency", pattern=CURRENCY_PATTERN)


class FlexOrder(_FlexBase):
    """A purchase of a FlexOffer: its PTUs as offered, and the buyer's order reference,
    which the aggregator keeps for settlement."""

    flex_offer_origin: InternetDomain = Field(alias="FlexOfferOrigin")
    flex_offer_sequence: XsLong = Field(alias="FlexOfferSequence")
    currency: str = Field(alias="Currency", pattern=CURRENCY_PATTERN)
    order_reference: str = Field(alias="OrderReference")


class _Response(_Element):
    """The answer to a Flex* message: ``Sequence`` is the answered message's; ``Message``
    says why when ``Result`` is Rejected."""

    metadata: MessageMetadata = Field(alias="MessageMetadata")
    extensions: tuple[str, ...] = ()
    sequence: XsLong = Field(alias="Sequence")
    result: Result = Field(alias="Result")
    message: str | None = Field(None, alias="Message")


class FlexRequestResponse(_Response):
    """The answer to a FlexRequest (§10.9.2)."""


class FlexOfferResponse(_Response):
    """The answer to a FlexOffer. The seed gives no schema of its own (§10.9.4 holds the
    FlexOfferRevocationResponse's), so it has the shape of the other responses."""


class FlexOrders(_Element):
    """Several FlexOrders in one document: flexmarket's envelope, not a USEF message;
    each ``FlexOrder`` in it is a complete one."""

    orders: tuple[FlexOrder, ...] = Field((), alias="FlexOrder")


FlexMessage = FlexRequest | FlexOffer | FlexOrder
MESSAGES: dict[str, type[FlexRequest] | type[FlexOffer] | type[FlexOrder]] = {
    "FlexRequest": FlexRequest, "FlexOffer": FlexOffer, "FlexOrder": FlexOrder}
