"""The blockchain access layer (Platone A.4, FR_BAL_TS_1..3): every light-node packet on
``packets`` becomes MeterReadingCertified or SetpointAcknowledged when its hash and
signature hold and its node is the one enrolled for the PoD, or MeterReadingRejected
with the reason; none is dropped.

Each event's id and time derive from the packet's place in the log (topic, partition,
offset, record time), so a packet read again after a crash gives the identical event.
A second packet for a quarter-hour already certified is a replay and is rejected; the
certification it would repeat is recognised by its id. Certifications not projected yet
are remembered here, older ones are read from the read models.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import faust
import structlog
from faust.types import EventT, StreamT
from sqlalchemy import Engine, create_engine

from access_layer.domain.certification import certify, rejection_of_malformed
from access_layer.domain.events import MeterReadingCertified
from access_layer.domain.packets import MalformedPacket, Packet, ReadingData, parse_packet
from access_layer.store import queries
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import (
    completed,
    publish,
    raw_topic,
    until_done,
    wait_until_projected,
)
from ledger.settings import Settings
from ledger.topics import Topic

log = structlog.get_logger("flexmarket.certification")
BAL_ACTOR = "flexmarket-bal"
# Certifications remembered before the read models are trusted with them again.
REMEMBERED = 200_000


@dataclass(frozen=True)
class Arrival:
    """A packet record as it arrived on ``packets``."""

    source: str  # <topic>/<partition>/<offset>
    at: datetime  # the record's time
    value: bytes


@dataclass
class Memory:
    """What the processor knows beyond the read models: nodes and recent certifications."""

    nodes: dict[str, str] = field(default_factory=dict)  # PoD -> enrolled address
    certified: dict[tuple[str, datetime], str] = field(default_factory=dict)  # -> event id


def attach(app: faust.App, settings: Settings) -> None:
    """Add the certification agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    packets = raw_topic(app, settings, Topic.PACKETS)
    readings = raw_topic(app, settings, Topic.READINGS)
    setpoints = raw_topic(app, settings, Topic.SETPOINTS)
    memory = Memory()
    started: list[bool] = []

    @app.agent(packets, name="certification")
    async def certification(stream: StreamT) -> None:
        async for batch in stream.take_events(settings.certification_batch_size,
                                              within=settings.projector_batch_seconds):
            await completed(_certify(batch))

    async def _certify(batch: list[EventT]) -> None:
        arrivals = [Arrival(f"{e.message.topic}/{e.message.partition}/{e.message.offset}",
                            datetime.fromtimestamp(e.message.timestamp, UTC),
                            e.message.value or b"") for e in batch]
        if not started or len(memory.certified) > REMEMBERED:
            # What was certified before is in the read models once they caught up.
            await until_done(partial(wait_until_projected, settings, engine,
                                     [Topic.READINGS, Topic.REGISTRY]), "catch up")
            memory.certified.clear()
            started.append(True)
        events = await until_done(partial(asyncio.to_thread, decide, engine, memory,
                                          arrivals, settings), "certify packets")
        await until_done(partial(publish, readings, [e for e in events
                                                     if e.type != "SetpointAcknowledged"]),
                         "publish readings")
        await until_done(partial(publish, setpoints, [e for e in events
                                                      if e.type == "SetpointAcknowledged"]),
                         "publish acknowledgements")


def decide(engine: Engine, memory: Memory, arrivals: list[Arrival],
           settings: Settings) -> list[Event]:
    """The access layer's event for each arrival, in order."""
    parsed: list[Packet | MalformedPacket] = []
    for arrival in arrivals:
        try:
            parsed.append(parse_packet(arrival.value))
        except MalformedPacket as exc:
            parsed.append(exc)
    packets = [p for p in parsed if isinstance(p, Packet)]
    _learn_nodes(engine, memory, settings, packets)
    readings = [(p.pod, p.data.interval_start) for p in packets
                if isinstance(p.data, ReadingData)]
    with engine.connect() as conn:
        stored = queries.certification_ids(conn, [k for k in readings
                                                  if k not in memory.certified])
    events = []
    for arrival, item in zip(arrivals, parsed, strict=True):
        event_id = derived_event_id(arrival.at, "Certification", arrival.source)
        if isinstance(item, MalformedPacket):
            payload = rejection_of_malformed(arrival.value, item.reason, arrival.source)
        else:
            key = (item.pod, item.data.interval_start) if isinstance(item.data,
                                                                     ReadingData) else None
            before = None if key is None else memory.certified.get(key, stored.get(key))
            payload = certify(item, source=arrival.source,
                              enrolled_address=memory.nodes.get(item.pod),
                              already_certified=before not in (None, str(event_id)))
            if key is not None and isinstance(payload, MeterReadingCertified):
                memory.certified[key] = str(event_id)
        events.append(new_event(payload, actor=BAL_ACTOR, occurred_at=arrival.at,
                                event_id=event_id))
    rejected = sum(1 for e in events if e.type == "MeterReadingRejected")
    if rejected:
        log.warning("packets rejected", rejected=rejected, of=len(events))
    return events


def _learn_nodes(engine: Engine, memory: Memory, settings: Settings,
                 packets: list[Packet]) -> None:
    """Read the enrolled node of every PoD not known here, or whose packet names another
    address than the one known (a node replaced), after the registry caught up."""
    unsure = {p.pod for p in packets if memory.nodes.get(p.pod) != p.address}
    if not unsure:
        return
    asyncio.run(wait_until_projected(settings, engine, [Topic.REGISTRY]))
    with engine.connect() as conn:
        for pod, row in queries.enrolled_nodes(conn, unsure).items():
            memory.nodes[pod] = row.node_address
