"""The blockchain access layer's decision on one light-node packet: certified, or
rejected with its reason (Platone D3.3 A.4, FR_BAL_TS_1; MARKET_RULES.md "Activation and
metering": rejections are events of their own, never dropped silently).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from access_layer.domain.events import (
    MeterReadingCertified,
    MeterReadingRejected,
    RejectionCode,
    SetpointAcknowledged,
)
from access_layer.domain.packets import (
    ADDRESS_PATTERN,
    HASH_PATTERN,
    IDENTIFIER_PATTERN,
    Packet,
    ReadingData,
    check_size,
    packet_hash,
    recover_address,
)

UNKNOWN_POD = "UNKNOWN-POD"
_MAX_REASON = 500  # MeterReadingRejected.reason's bound
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN.removeprefix("^").removesuffix("$"))
_ADDRESS = re.compile(ADDRESS_PATTERN.removeprefix("^").removesuffix("$"))
_HASH = re.compile(HASH_PATTERN.removeprefix("^").removesuffix("$"))
_INTERVAL_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _problem(packet: Packet,
             enrolled_address: str | None) -> tuple[RejectionCode, str] | None:
    """The first reason to refuse ``packet`` that does not depend on what was certified."""
    expected = packet_hash(packet.data)
    if packet.hash != expected:
        return "HASH_MISMATCH", (f"the packet's hash {packet.hash} is not the keccak-256 of "
                                 f"its data ({expected}): the data was altered")
    signer = recover_address(packet.hash, packet.signed_hash)
    if signer != packet.address:
        return "BAD_SIGNATURE", ("the signature was not made by the key of "
                                 f"{packet.address}, the address the packet names")
    if enrolled_address is None:
        return "NODE_NOT_ENROLLED", f"no light node is enrolled for PoD {packet.pod}"
    if enrolled_address.lower() != packet.address:
        return "NOT_THE_ENROLLED_NODE", (
            f"the packet is signed by {packet.address}, but PoD {packet.pod}'s enrolled "
            f"light node is {enrolled_address.lower()}")
    return None


def certify(packet: Packet, *, source: str, enrolled_address: str | None,
            already_certified: bool
            ) -> MeterReadingCertified | SetpointAcknowledged | MeterReadingRejected:
    """Certify a light node's packet, or say why not (FR_BAL_TS_1; FR_LN_RMD_2 and
    FR_LN_SM_5 are the node's side).

    Checks, in this order: the hash is the keccak-256 of the data (HASH_MISMATCH); the
    signature recovers to the address the packet names (BAD_SIGNATURE); a node is
    enrolled for the PoD (NODE_NOT_ENROLLED) and it is this one (NOT_THE_ENROLLED_NODE);
    a reading's quarter-hour was not certified before (ALREADY_CERTIFIED: a replay).

    Args:
        packet: a well-formed packet (``packets.parse_packet``).
        source: where it arrived, ``<topic>/<partition>/<offset>``, at most 300 characters.
        enrolled_address: the address of the light node enrolled for ``packet.pod``, or
            None when none is.
        already_certified: whether a reading of this PoD and quarter-hour was certified
            before; ignored for setpoint acknowledgements, which certify nothing twice.

    Returns:
        ``MeterReadingCertified`` for a reading, ``SetpointAcknowledged`` for an
        acknowledgement, or ``MeterReadingRejected`` with what the packet claimed (PoD,
        quarter-hour of a reading, address, hash), ``source`` and the reason.
    """
    data = packet.data
    problem = _problem(packet, enrolled_address)
    if problem is None and isinstance(data, ReadingData) and already_certified:
        problem = ("ALREADY_CERTIFIED",
                   f"PoD {packet.pod}'s reading of {data.interval_start:%Y-%m-%dT%H:%MZ} "
                   "was certified before: this packet is a replay")
    if problem is not None:
        code, reason = problem
        return MeterReadingRejected(
            pod_id=packet.pod, code=code, reason=reason, source=source,
            interval_start=data.interval_start if isinstance(data, ReadingData) else None,
            node_address=packet.address, packet_hash=packet.hash)
    if isinstance(data, ReadingData):
        return MeterReadingCertified(
            pod_id=packet.pod, interval_start=data.interval_start, p_kw=data.p_kw,
            q_kvar=data.q_kvar, energy_kwh=data.energy_kwh, node_address=packet.address,
            packet_hash=packet.hash, signature=packet.signed_hash)
    return SetpointAcknowledged(
        activation_id=data.activation_id, pod_id=packet.pod, node_address=packet.address,
        sent_by_dso_at=data.sent_by_dso_at, received_by_node_at=data.received_by_node_at,
        received_by_device_at=data.received_by_device_at, packet_hash=packet.hash,
        signature=packet.signed_hash)


def _claimed(raw: bytes) -> dict[str, Any]:
    """The top-level JSON object of ``raw``, or an empty one: the bytes were refused, so
    anything about them may be wrong, and reading what it claims must not fail."""
    try:
        check_size(raw)
        value = json.loads(raw)
    except (ValueError, RecursionError):  # MalformedPacket is a ValueError
        return {}
    return value if isinstance(value, dict) else {}


def _matching(value: Any, pattern: re.Pattern[str], max_length: int) -> str | None:
    if isinstance(value, str) and len(value) <= max_length and pattern.fullmatch(value):
        return value
    return None


def rejection_of_malformed(raw: bytes, reason: str, source: str) -> MeterReadingRejected:
    """The rejection of bytes ``parse_packet`` refused (MALFORMED_PACKET).

    What the bytes claim is kept where it is of its format: the PoD (else
    ``UNKNOWN-POD``), the node's address, the hash, a reading's quarter-hour.

    Args:
        raw: the bytes as they arrived.
        reason: ``MalformedPacket.reason``; cut to 500 characters.
        source: where they arrived, ``<topic>/<partition>/<offset>``, at most 300
            characters.

    Returns:
        The rejection, keyed by the claimed PoD so that it lands beside its readings.
    """
    claimed = _claimed(raw)
    data = claimed.get("data")
    interval_start = None
    if isinstance(data, dict) and data.get("kind") == "reading":
        text = _matching(data.get("interval_start"), _INTERVAL_START, 20)
        if text is not None:
            try:
                interval_start = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
            except ValueError:  # of the form, yet no date (a 30 February)
                interval_start = None
    reason = reason.strip() or "the packet is malformed"
    if len(reason) > _MAX_REASON:
        reason = reason[:_MAX_REASON - 1] + "…"
    return MeterReadingRejected(
        pod_id=_matching(claimed.get("pod"), _IDENTIFIER, 100) or UNKNOWN_POD,
        code="MALFORMED_PACKET", reason=reason, source=source,
        interval_start=interval_start,
        node_address=_matching(claimed.get("address"), _ADDRESS, 42),
        packet_hash=_matching(claimed.get("hash"), _HASH, 66))
