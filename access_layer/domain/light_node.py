"""The light node: its secp256k1 identity, the quarter-hour aggregation of meter samples,
and the signed packets it sends the blockchain access layer (Platone D3.3 A.4, Annex B).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eth_keys import keys

try:  # eth_keys' own coincurve backend rebuilds the key on every signature
    import coincurve
except ImportError:  # pragma: no cover - the slower pure-Python path still signs
    coincurve = None

from access_layer.domain.events import quarter_hour_in_utc
from access_layer.domain.packets import (
    Packet,
    ReadingData,
    SetpointAckData,
    SetpointSlot,
    format_timestamp,
    packet_hash,
)
from ledger.canonical import keccak256

QUARTER_HOUR = timedelta(minutes=15)
_MICROSECOND = timedelta(microseconds=1)
_QUARTER_HOUR_US = QUARTER_HOUR // _MICROSECOND
_HOURS_PER_QUARTER_HOUR = 0.25


@dataclass(frozen=True)
class QuarterHourReading:
    """What a light node reports for one PoD and quarter-hour (FR_LN_RMD_1).

    Attributes:
        interval_start: start of the quarter-hour, UTC.
        p_kw: time-weighted mean active power, kW (withdrawal positive).
        q_kvar: time-weighted mean reactive power, kVAr.
        energy_kwh: active energy over the quarter-hour, kWh (= p_kw × 0.25 h).
        samples: meter samples that fell in the quarter-hour.
    """

    interval_start: datetime
    p_kw: float
    q_kvar: float
    energy_kwh: float
    samples: int


def aggregate_quarter_hour(samples: Sequence[tuple[datetime, float, float]],
                           interval_start: datetime) -> QuarterHourReading | None:
    """Aggregate a meter's samples into the quarter-hour starting at ``interval_start``
    (FR_LN_RMD_1: the Smart Meter 2G delivers up to one sample a second, the market
    settles per 15 minutes, MARKET_RULES.md "Activation and metering").

    Only samples in [start, start + 15 min) count. Each holds its value until the next
    one (sample-and-hold, as a meter's register does between polls); the first also
    covers the time back to the start, the last the time up to the end. Samples may be
    irregular and in any order; of two at the same instant, the later in ``samples``
    holds.

    Args:
        samples: (time, active power in kW, reactive power in kVAr), withdrawal positive;
            tz-aware times, any resolution (1 s … 5 min).
        interval_start: start of the quarter-hour, UTC, on a quarter-hour.

    Returns:
        The time-weighted mean P (kW) and Q (kVAr), the energy ∫P dt (kWh) and the count
        of samples used; None when no sample falls in the quarter-hour: a missing
        reading, never a zero one (FR_SCD_PD_3).

    Raises:
        ValueError: ``interval_start`` not a UTC quarter-hour, a naive sample time, or a
            non-finite sample value.
    """
    start = quarter_hour_in_utc(interval_start)
    end = start + QUARTER_HOUR
    inside = []
    for at, p_kw, q_kvar in samples:
        if at.utcoffset() is None:
            raise ValueError(f"the sample at {at} has no time zone")
        if start <= at < end:
            if not (math.isfinite(p_kw) and math.isfinite(q_kvar)):
                raise ValueError(f"the sample at {at} is not a finite number")
            inside.append((at, p_kw, q_kvar))
    if not inside:
        return None
    inside.sort(key=lambda sample: sample[0])  # stable: equal times keep their order
    # Whole microseconds, so the weights add up to the quarter-hour exactly.
    offsets = [0] + [(at - start) // _MICROSECOND for at, _, _ in inside[1:]]
    weights = [b - a for a, b in zip(offsets, [*offsets[1:], _QUARTER_HOUR_US], strict=True)]
    p_kw = math.fsum(w * p for w, (_, p, _) in zip(weights, inside, strict=True))
    q_kvar = math.fsum(w * q for w, (_, _, q) in zip(weights, inside, strict=True))
    p_mean, q_mean = p_kw / _QUARTER_HOUR_US, q_kvar / _QUARTER_HOUR_US
    return QuarterHourReading(interval_start=start, p_kw=p_mean, q_kvar=q_mean,
                              energy_kwh=p_mean * _HOURS_PER_QUARTER_HOUR,
                              samples=len(inside))


@dataclass(frozen=True)
class LightNode:
    """A light node's identity (Platone A.4 "Identity Layer"): a secp256k1 key pair whose
    Ethereum address the PoD's enrolment records.

    Attributes:
        private_key: the node's signing key.
        address: its Ethereum address, 0x + 40 lower-case hex.
    """

    private_key: keys.PrivateKey = field(repr=False)
    address: str = field(init=False)
    _signer: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once: the address costs a point multiplication, and a coincurve key
        # kept for the node signs in a third of the time eth_keys takes (same bytes:
        # both are libsecp256k1 with RFC 6979 nonces).
        object.__setattr__(self, "address", self.private_key.public_key.to_address())
        signer = None if coincurve is None else coincurve.PrivateKey(
            self.private_key.to_bytes())
        object.__setattr__(self, "_signer", signer)

    @classmethod
    def from_seed(cls, seed: str) -> LightNode:
        """A node whose private key is keccak-256 of ``seed`` (UTF-8): the same seed gives
        the same node, for simulators and tests. Not for real nodes: anyone who knows the
        seed can sign as the node.
        """
        return cls(keys.PrivateKey(keccak256(seed.encode("utf-8"))))

    @classmethod
    def generate(cls) -> LightNode:
        """A node with a fresh random key (32 bytes from the OS's CSPRNG)."""
        return cls(keys.PrivateKey(os.urandom(32)))

    def seal(self, data: ReadingData | SetpointAckData) -> Packet:
        """Hash and sign ``data`` into a packet (FR_LN_RMD_2, FR_LN_SM_2).

        Args:
            data: a reading or a setpoint acknowledgement.

        Returns:
            The packet: keccak-256 of ``data``'s canonical JSON, its signature by this
            node's key (raw hash, ``r || s || v``, ``v`` in {0, 1}) and this node's address.
        """
        digest = packet_hash(data)
        message = bytes.fromhex(digest[2:])
        signature = (self.private_key.sign_msg_hash(message).to_bytes() if self._signer is None
                     else self._signer.sign_recoverable(message, hasher=None))
        return Packet(pod=data.pod, hash=digest, signed_hash="0x" + signature.hex(),
                      address=self.address, data=data)


    def reading_packet(self, pod_id: str, interval_start: datetime, p_kw: float,
                       q_kvar: float, energy_kwh: float, samples: int) -> Packet:
        """A signed quarter-hour reading of ``pod_id`` (FR_LN_RMD_1/2).

        Args:
            pod_id: the PoD measured.
            interval_start: start of the quarter-hour, UTC, on a quarter-hour.
            p_kw: mean active power, kW, withdrawal positive, within ±1e6.
            q_kvar: mean reactive power, kVAr, within ±1e6.
            energy_kwh: active energy, kWh, within ±1e6.
            samples: meter samples it was computed from, ≥ 1.

        Returns:
            The signed packet.

        Raises:
            ValueError: a value outside the packet format (pydantic's ValidationError).
        """
        return self.seal(ReadingData(kind="reading", pod=pod_id, interval_start=interval_start,
                                     p_kw=p_kw, q_kvar=q_kvar, energy_kwh=energy_kwh,
                                     samples=samples))

    def acknowledge(self, pod_id: str, activation_id: str,
                    setpoint_slots: Sequence[SetpointSlot | tuple[int, float, float]],
                    sent_by_dso_at: datetime, received_by_node_at: datetime,
                    received_by_device_at: datetime) -> Packet:
        """A signed acknowledgement of a relayed setpoint (FR_LN_SM_2, FR_LN_SM_5): the
        setpoint itself and Platone's three times (Table 19 ``Status``).

        Args:
            pod_id: the PoD the setpoint is for.
            activation_id: the activation it belongs to.
            setpoint_slots: 1 to 20 slots, ``SetpointSlot`` or (MTU index of the
                delivery day, P in kW, Q in kVAr), one per MTU.
            sent_by_dso_at: when the DSO sent it, tz-aware.
            received_by_node_at: when this node received it, tz-aware.
            received_by_device_at: when the customer's device received it, tz-aware.

        Returns:
            The signed packet; the times are written as RFC 3339 in UTC.

        Raises:
            ValueError: a value outside the packet format, or the times decrease.
        """
        slots = tuple(slot if isinstance(slot, SetpointSlot)
                      else SetpointSlot(mtu=slot[0], p_kw=slot[1], q_kvar=slot[2])
                      for slot in setpoint_slots)
        status = tuple(format_timestamp(at) for at in
                       (sent_by_dso_at, received_by_node_at, received_by_device_at))
        return self.seal(SetpointAckData(kind="setpoint_ack", pod=pod_id,
                                         activation_id=activation_id, setpoint=slots,
                                         status=status))

