"""Simulated light nodes: a delivery day of signed quarter-hour readings per PoD, as the
bytes the nodes would publish (Platone D3.3 A.4 flow 7), for demos, tests and benchmarks.

Pure generators: nothing is sent anywhere. A load follows a household's daily shape (a
morning and an evening peak, a night trough) with seeded noise, is sampled at the
meter's resolution and aggregated into quarter-hours the way a light node does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from access_layer.domain.light_node import LightNode, aggregate_quarter_hour
from access_layer.domain.packets import Packet, ReadingData, encode_packet
from market.domain.calendar import delivery_mtus

# ARERA's typical household uses 2,700 kWh a year: 2700 kWh / 8760 h ≈ 0.31 kW mean.
DEFAULT_BASE_KW = 0.31
# cos φ ≈ 0.95 inductive, typical of a household: Q = P · tan φ.
_TAN_PHI = math.tan(math.acos(0.95))
# The load's noise is an AR(1) process on the relative deviation: correlated from one
# minute to the next, like appliances switching, not white noise.
_NOISE_PERSISTENCE = 0.9
_NOISE_SIGMA = 0.08


@dataclass(frozen=True)
class SimulatedNode:
    """A PoD and the light node enrolled for it."""

    pod_id: str
    node: LightNode


def node_for(pod_id: str, seed: str) -> LightNode:
    """The simulated light node of ``pod_id``: the same ``seed`` always gives the same key.

    Args:
        pod_id: the PoD.
        seed: the simulation's seed; keys of different seeds are unrelated.
    """
    return LightNode.from_seed(f"flexmarket-light-node/{seed}/{pod_id}")


def _forger_of(pod_id: str) -> LightNode:
    return LightNode.from_seed(f"flexmarket-forger/{pod_id}")


def _raw_shape(local_hour: float) -> float:
    def bump(centre: float, width: float) -> float:
        distance = min(abs(local_hour - centre), 24 - abs(local_hour - centre))
        return math.exp(-0.5 * (distance / width) ** 2)

    return 0.52 + 0.45 * bump(8.0, 1.2) + 0.25 * bump(13.0, 1.5) + 1.3 * bump(20.0, 2.0)


# Minute by minute over the day: so that a PoD's base_kw is its daily mean.
_RAW_MEAN = math.fsum(_raw_shape(minute / 60) for minute in range(1440)) / 1440


def daily_shape(local_hour: float) -> float:
    """A household's load relative to its daily mean (dimensionless, mean 1 over the
    day), at ``local_hour`` in [0, 24) of the local clock: a night trough of about 0.59,
    a morning peak near 08:00 (about 1.1) and the evening peak near 20:00 (about 2.05).
    """
    return _raw_shape(local_hour) / _RAW_MEAN


def _local_hour(at: datetime, zone: ZoneInfo) -> float:
    local = at.astimezone(zone)
    return local.hour + local.minute / 60 + local.second / 3600


def forged_packet(data: ReadingData, claimed: LightNode, forger: LightNode) -> Packet:
    """A packet of ``data`` naming ``claimed``'s address but signed by ``forger``'s key: a
    forgery the blockchain access layer must refuse as BAD_SIGNATURE.
    """
    sealed = forger.seal(data)
    return Packet(pod=data.pod, hash=sealed.hash, signed_hash=sealed.signed_hash,
                  address=claimed.address, data=data)


def simulate_day(nodes: Sequence[SimulatedNode], day: date, zone: ZoneInfo, *, seed: int,
                 base_kw: float | Callable[[str], float] = DEFAULT_BASE_KW,
                 resolution_s: int = 60, forge: Set[str] = frozenset(),
                 skip: Set[tuple[str, datetime]] = frozenset()) -> Iterator[bytes]:
    """The encoded reading packets of every PoD for every quarter-hour of delivery day
    ``day`` (92, 96 or 100 on the local clock, ``market.domain.calendar.delivery_mtus``).

    Packets come in time order, quarter-hour by quarter-hour, PoDs in ``nodes``' order
    within one. Each PoD's load is its base times ``daily_shape`` of the local hour, with
    multiplicative AR(1) noise (σ 8 % a sample) drawn from a generator seeded by
    (``seed``, PoD, day), so one PoD's readings do not depend on which others are
    simulated. Withdrawal is positive; Q = P · tan φ, cos φ about 0.95.

    Args:
        nodes: the PoDs and their enrolled light nodes.
        day: the delivery day, on ``zone``'s clock.
        zone: the market's time zone.
        seed: the noise's seed; the same arguments give the same bytes.
        base_kw: each PoD's mean withdrawal, kW: one value for all, or a function of
            the PoD id.
        resolution_s: seconds between meter samples, 1 … 900, dividing 900.
        forge: PoDs whose packets are signed by another key while naming the enrolled
            node's address (certification gives BAD_SIGNATURE).
        skip: (PoD, quarter-hour start in UTC) whose packet is not sent: a missing reading.

    Yields:
        Each packet as ``encode_packet`` writes it.

    Raises:
        ValueError: ``resolution_s`` does not divide a quarter-hour.
    """
    if not (isinstance(resolution_s, int) and 1 <= resolution_s <= 900
            and 900 % resolution_s == 0):
        raise ValueError(f"resolution_s {resolution_s} is not a whole divisor of 900 s")
    mtus = delivery_mtus(day, zone)
    steps = [timedelta(seconds=k * resolution_s) for k in range(900 // resolution_s)]
    # The shape is the same for every PoD: computed once per sample instant.
    shapes = [[daily_shape(_local_hour(mtu.start + step, zone)) for step in steps]
              for mtu in mtus]
    levels = [base_kw(item.pod_id) if callable(base_kw) else base_kw for item in nodes]
    generators = [random.Random(f"{seed}/{item.pod_id}/{day.isoformat()}") for item in nodes]
    deviations = [0.0] * len(nodes)
    forgers = {item.pod_id: _forger_of(item.pod_id) for item in nodes if item.pod_id in forge}
    keep = math.sqrt(1 - _NOISE_PERSISTENCE**2)
    for mtu, shape in zip(mtus, shapes, strict=True):
        for index, item in enumerate(nodes):
            gauss, deviation = generators[index].gauss, deviations[index]
            # The mix of appliances, hence the power factor, changes slowly: one draw
            # a quarter-hour.
            tan_phi = _TAN_PHI * (1 + gauss(0.0, _NOISE_SIGMA))
            samples = []
            for step, relative in zip(steps, shape, strict=True):
                deviation = _NOISE_PERSISTENCE * deviation + keep * gauss(0.0, _NOISE_SIGMA)
                p_kw = max(0.0, levels[index] * relative * (1 + deviation))
                samples.append((mtu.start + step, p_kw, p_kw * tan_phi))
            deviations[index] = deviation
            # Drawn even when skipped, so a skip does not shift the PoD's later noise.
            if (item.pod_id, mtu.start) in skip:
                continue
            reading = aggregate_quarter_hour(samples, mtu.start)
            if reading is None:  # never: the first sample is at the quarter-hour's start
                continue
            data = ReadingData(kind="reading", pod=item.pod_id, interval_start=mtu.start,
                               p_kw=reading.p_kw, q_kvar=reading.q_kvar,
                               energy_kwh=reading.energy_kwh, samples=reading.samples)
            forger = forgers.get(item.pod_id)
            packet = (item.node.seal(data) if forger is None
                      else forged_packet(data, item.node, forger))
            yield encode_packet(packet)
