"""The light node's wire format: a signed packet of a reading or a setpoint acknowledgement
(Platone D3.3 A.4, flow 7, Table 21: PoD, Hash, SignedHash, address, InputData).

A packet is a JSON object ``{"pod", "hash", "signed_hash", "address", "data"}``. ``hash``
is the keccak-256 of ``data`` in canonical JSON (RFC 8785); ``signed_hash`` is the ECDSA
secp256k1 signature of those 32 bytes themselves (no EIP-191 prefix), ``r || s || v`` with
``v`` in {0, 1}; ``address`` is the signer's Ethereum address. Platone names the hash, the
curve and the key format nowhere; keccak-256 and secp256k1 keep the node's identity an
Ethereum account. The packet carries the address, not the public key Platone lists: the
key is recovered from the signature, and the address is what an enrolment records.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from access_layer.domain.events import quarter_hour_in_utc
from ledger.canonical import canonical_json, keccak_hex

IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:-]+$"
HASH_PATTERN = r"^0x[0-9a-f]{64}$"
SIGNATURE_PATTERN = r"^0x[0-9a-f]{130}$"
ADDRESS_PATTERN = r"^0x[0-9a-f]{40}$"
# Readings and setpoints are a household's or a plant's power: a million kW is far beyond
# any PoD, so a larger number is a corrupt packet, not a big customer.
MAX_ABS_VALUE = 1e6
# A quarter-hour holds 900 one-second samples (the Smart Meter 2G's finest resolution,
# Platone L469); the bound only keeps the count a safe JSON integer.
MAX_SAMPLES = 1_000_000
MAX_SETPOINT_SLOTS = 20  # 16 per 4-hour window; 20 when the window holds the autumn change
MAX_MTU_INDEX = 99  # a delivery day has at most 100 MTUs

_INTERVAL_START = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
# RFC 3339 in UTC; "-00:00" is RFC 3339's "offset unknown", so it is not UTC.
_UTC_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|\+00:00)", re.ASCII)
# secp256k1's group order: a signature whose s is above half of it is the mirror image of
# a valid one (EIP-2); refusing it gives every packet exactly one valid signature.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HASH_HEX = re.compile(r"0x[0-9a-fA-F]{64}")
_SIGNATURE_HEX = re.compile(r"0x[0-9a-fA-F]{130}")

Identifier = Annotated[str, Field(min_length=1, max_length=100, pattern=IDENTIFIER_PATTERN)]
Kilo = Annotated[float, Field(strict=True, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]


class MalformedPacket(ValueError):
    """Bytes that are not a packet of the light-node format.

    Attributes:
        reason: a sentence naming the offending field.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def format_interval_start(value: datetime) -> str:
    """The wire form of a quarter-hour's start: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_timestamp(value: datetime) -> str:
    """A tz-aware instant as RFC 3339 in UTC, with microseconds only when it has them.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.utcoffset() is None:
        raise ValueError("a timestamp needs a time zone")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 UTC timestamp (``Z`` or ``+00:00``) as an aware datetime.

    Digits beyond microseconds are dropped: Python's datetime holds no more.

    Raises:
        ValueError: not RFC 3339, or not in UTC.
    """
    if not isinstance(text, str) or not _UTC_TIMESTAMP.fullmatch(text):
        raise ValueError(f"{text!r} is not an RFC 3339 time in UTC (…T…Z)")
    head, _, fraction = text.removesuffix("Z").removesuffix("+00:00").partition(".")
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return datetime.fromisoformat(head).replace(microsecond=micro, tzinfo=UTC)


def _interval_start_from_wire(value: Any) -> Any:
    # Only the one spelling: the hash is taken over the data as re-encoded, so a second
    # spelling of the same instant would change the bytes the node signed.
    if isinstance(value, str):
        if not _INTERVAL_START.fullmatch(value):
            raise ValueError(f"{value!r} is not of the form YYYY-MM-DDTHH:MM:SSZ")
        return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value
    raise ValueError("not a string of the form YYYY-MM-DDTHH:MM:SSZ")


def _quarter_hour_start(value: datetime) -> datetime:
    return quarter_hour_in_utc(value).astimezone(UTC)


QuarterHourStart = Annotated[
    datetime,
    BeforeValidator(_interval_start_from_wire),
    AfterValidator(_quarter_hour_start),
    PlainSerializer(format_interval_start, return_type=str),
]


def _rfc3339_utc(value: Any) -> str:
    parse_timestamp(value)
    return value


# Kept as the node wrote it: RFC 3339 allows many spellings of one instant (".5" or
# ".500"), and re-spelling it would break the hash the node signed.
UtcTimestamp = Annotated[str, AfterValidator(_rfc3339_utc)]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ReadingData(_Wire):
    """A PoD's quarter-hour measurement (FR_LN_RMD_1): mean active and reactive power,
    energy, and how many meter samples it was computed from. Withdrawal is positive.

    Attributes:
        pod: the PoD measured.
        interval_start: start of the quarter-hour, UTC.
        p_kw: time-weighted mean active power, kW.
        q_kvar: time-weighted mean reactive power, kVAr.
        energy_kwh: active energy over the quarter-hour, kWh.
        samples: meter samples in the quarter-hour, ≥ 1.
    """

    kind: Literal["reading"]
    pod: Identifier
    interval_start: QuarterHourStart
    p_kw: Kilo
    q_kvar: Kilo
    energy_kwh: Kilo
    samples: int = Field(strict=True, ge=1, le=MAX_SAMPLES)


class SetpointSlot(_Wire):
    """One MTU of a relayed setpoint: its index in the delivery day, P in kW, Q in kVAr."""

    mtu: int = Field(strict=True, ge=0, le=MAX_MTU_INDEX)
    p_kw: Kilo
    q_kvar: Kilo


class SetpointAckData(_Wire):
    """A light node's acknowledgement of a setpoint (Platone Table 19, FR_LN_SM_2/5): the
    setpoint it relayed and three times, ``status`` = [sent by the DSO, received by the
    light node, received by the customer's device], RFC 3339 UTC, non-decreasing.
    """

    kind: Literal["setpoint_ack"]
    pod: Identifier
    activation_id: Identifier
    setpoint: tuple[SetpointSlot, ...] = Field(min_length=1, max_length=MAX_SETPOINT_SLOTS)
    status: tuple[UtcTimestamp, UtcTimestamp, UtcTimestamp]

    @field_validator("setpoint")
    @classmethod
    def _one_slot_per_mtu(cls, value: tuple[SetpointSlot, ...]) -> tuple[SetpointSlot, ...]:
        mtus = [slot.mtu for slot in value]
        if len(set(mtus)) != len(mtus):
            raise ValueError("two slots for the same MTU")
        return value

    @field_validator("status")
    @classmethod
    def _non_decreasing(cls, value: tuple[str, str, str]) -> tuple[str, str, str]:
        sent, at_node, at_device = (parse_timestamp(text) for text in value)
        if not sent <= at_node <= at_device:
            raise ValueError("the times [sent by the DSO, received by the node, received "
                             "by the device] decrease")
        return value

    @property
    def sent_by_dso_at(self) -> datetime:
        """When the DSO sent the setpoint, UTC."""
        return parse_timestamp(self.status[0])

    @property
    def received_by_node_at(self) -> datetime:
        """When the light node received it, UTC."""
        return parse_timestamp(self.status[1])

    @property
    def received_by_device_at(self) -> datetime:
        """When the customer's device received it, UTC."""
        return parse_timestamp(self.status[2])


PacketData = Annotated[ReadingData | SetpointAckData, Field(discriminator="kind")]


class Packet(_Wire):
    """A signed light-node packet (Platone Table 21).

    Its fields are only well-formed here; whether ``hash`` is the data's and the signature
    is ``address``'s is the blockchain access layer's check (``certification.certify``).

    Attributes:
        pod: the PoD the packet is about; equal to ``data.pod``.
        hash: keccak-256 of ``data`` in canonical JSON, 0x + 64 lower-case hex.
        signed_hash: ECDSA secp256k1 signature of ``hash``, ``r || s || v``, 0x + 130 hex.
        address: the signing node's Ethereum address, 0x + 40 lower-case hex.
        data: the reading or the setpoint acknowledgement.
    """

    pod: Identifier
    hash: str = Field(pattern=HASH_PATTERN)
    signed_hash: str = Field(pattern=SIGNATURE_PATTERN)
    address: str = Field(pattern=ADDRESS_PATTERN)
    data: PacketData

    @model_validator(mode="after")
    def _data_is_about_the_packets_pod(self) -> Packet:
        if self.data.pod != self.pod:
            raise ValueError(f"data.pod {self.data.pod!r} is not the packet's pod {self.pod!r}")
        return self


def packet_hash(data: ReadingData | SetpointAckData) -> str:
    """The hash a packet of ``data`` must carry (FR_LN_RMD_2).

    Args:
        data: a reading or a setpoint acknowledgement.

    Returns:
        keccak-256 of ``data``'s canonical JSON (RFC 8785), 0x + 64 lower-case hex.
    """
    return keccak_hex(canonical_json(data.model_dump(mode="json")))


def encode_packet(packet: Packet) -> bytes:
    """The packet as it travels: canonical JSON (RFC 8785), UTF-8."""
    return canonical_json(packet.model_dump(mode="json"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers could keep different copies of a repeated key, so the data one party
    # checked would not be the data another reads.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _field_name(loc: tuple[int | str, ...]) -> str:
    # The discriminated union puts the kind into the location ("data.reading.p_kw"); the
    # sender knows the field as "data.p_kw".
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "data" and parts[1] in ("reading", "setpoint_ack"):
        del parts[1]
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part)
                    for part in parts).replace(".[", "[")


def _reason(error: PydanticValidationError) -> str:
    first = error.errors(include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    field = _field_name(tuple(first["loc"]))
    if first["type"] == "missing":
        return f"{field} is missing"
    if first["type"] == "extra_forbidden":
        return f"{field} is not a field of the packet"
    if first["type"] == "union_tag_invalid":
        return f"{field}.kind is neither 'reading' nor 'setpoint_ack'"
    return f"{field}: {message}" if field else message


# A packet nests four deep and holds at most 20 setpoint slots: 64 brackets and 16 KiB are
# ample. Deeper JSON is refused before it is parsed: the C decoder recurses on the machine
# stack, and a process whose recursion limit was raised can crash on it instead of raising.
MAX_PACKET_BYTES = 16 * 1024
MAX_BRACKETS = 64


def check_size(raw: bytes) -> None:
    """Refuse bytes too long or too bracketed to be a packet, before parsing them.

    Raises:
        MalformedPacket: longer than 16 KiB or with more than 64 ``[`` and ``{``.
    """
    if len(raw) > MAX_PACKET_BYTES:
        raise MalformedPacket(f"the packet is longer than {MAX_PACKET_BYTES} bytes")
    if raw.count(b"[") + raw.count(b"{") > MAX_BRACKETS:
        raise MalformedPacket("the packet nests or repeats too much to be a packet")


def parse_packet(raw: bytes) -> Packet:
    """Read a packet off the wire.

    Args:
        raw: the packet's bytes, UTF-8 JSON.

    Returns:
        The packet, well-formed. Its hash and signature are not checked here.

    Raises:
        MalformedPacket: not UTF-8 JSON, a repeated key, a missing or unknown field, a
            value of the wrong type, beyond ±1e6 or not finite, an ``interval_start``
            not on a UTC quarter-hour, ``status`` times decreasing, ``data.pod`` not the
            packet's pod; ``reason`` names the field.
    """
    check_size(raw)
    try:
        value = json.loads(raw, object_pairs_hook=_unique_keys,
                           parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise MalformedPacket("the packet is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedPacket(f"the packet is not JSON: {exc.msg} at byte {exc.pos}") from None
    except ValueError as exc:
        raise MalformedPacket(f"the packet is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedPacket("the packet nests too deeply") from None
    if not isinstance(value, dict):
        raise MalformedPacket("the packet is not a JSON object")
    try:
        return Packet.model_validate(value)
    except PydanticValidationError as exc:
        raise MalformedPacket(_reason(exc)) from None


def recover_address(hash_hex: str, signature_hex: str) -> str | None:
    """The address whose key made ``signature_hex`` over ``hash_hex`` (FR_BAL_TS_1).

    Args:
        hash_hex: the 32-byte message hash, 0x + 64 hex.
        signature_hex: ``r || s || v``, 0x + 130 hex, ``v`` in {0, 1}, ``s`` in the lower
            half of the curve order (EIP-2).

    Returns:
        The signer's address, 0x + 40 lower-case hex; None when either value is not of
        its format or no public key can be recovered.
    """
    if not (isinstance(hash_hex, str) and _HASH_HEX.fullmatch(hash_hex)
            and isinstance(signature_hex, str) and _SIGNATURE_HEX.fullmatch(signature_hex)):
        return None
    message, signature = bytes.fromhex(hash_hex[2:]), bytes.fromhex(signature_hex[2:])
    if int.from_bytes(signature[32:64], "big") > _SECP256K1_N // 2:
        return None
    try:
        public_key = keys.Signature(signature).recover_public_key_from_msg_hash(message)
    except (BadSignature, ValidationError, ValueError):
        return None
    return public_key.to_address()
