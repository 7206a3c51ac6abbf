"""The anchor processor: every anchored topic partition → Merkle roots on ``EventAnchor``.

Records are held un-acknowledged until the chain has their batch, so the consumer group's
committed offsets never pass the chain's position: a crash re-reads exactly what may be
unanchored, and records the chain already covers are skipped, never anchored twice.
Batches close at ``anchor_batch_size`` records in a partition or after
``anchor_batch_seconds``; all due batches go in one ``anchorMany`` transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import defaultdict

import faust
import structlog
from faust.types import EventT, StreamT
from kafka.errors import KafkaError
from web3.exceptions import ContractLogicError

from contracts.errors import decode_revert
from ledger.anchoring import (
    AnchoredBatch,
    Backlogs,
    ReadPastAnchors,
    Stream,
    batch_anchored_event,
)
from ledger.chain import AnchorLedger, ChainError
from ledger.processors.support import EXIT_INFRASTRUCTURE
from ledger.rewind import rewind_to_chain
from ledger.settings import Settings
from ledger.topics import ANCHORED_TOPICS, Topic, topic_name

log = structlog.get_logger("flexmarket.anchor")

RETRY_DELAYS_S = (1, 2, 4, 8, 15, 30)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the anchor agent and its anchoring loop to ``app``.

    Before the worker joins its consumer group, the group's offsets are moved back to the
    chain's position where they are past it (a new chain), so the worker resumes from
    what the chain says.
    """
    try:
        moved = rewind_to_chain(settings)
        if moved:
            log.warning("rewound the consumer group to the chain's position",
                        partitions=len(moved))
    except (ChainError, KafkaError, TimeoutError) as exc:
        log.warning("could not compare the consumer group with the chain at start; "
                    "anchoring will stop if the chain is behind", error=str(exc))
    sources = app.topic(*(topic_name(settings, t) for t in ANCHORED_TOPICS),
                        key_serializer="raw", value_serializer="raw")
    announcements = app.topic(topic_name(settings, Topic.ANCHORS),
                              key_serializer="raw", value_serializer="raw")
    anchorer = Anchorer(settings, announcements)

    @app.agent(sources, name="anchor")
    async def anchor(stream: StreamT) -> None:
        manual = stream.noack()
        anchorer.stream = manual
        async for event in manual.events():
            anchorer.take(event)

    @app.task
    async def anchoring() -> None:
        await anchorer.run()


class Anchorer:
    """Holds records until their batch is on chain, then announces it and lets them go."""

    def __init__(self, settings: Settings, announcements: faust.TopicT) -> None:
        self.settings = settings
        self.announcements = announcements
        self.stream: StreamT | None = None
        self.backlogs = Backlogs()
        self.held: dict[Stream, list[EventT]] = defaultdict(list)
        self.oldest: float | None = None  # Kafka timestamp (Unix s) of the oldest held record
        self.due = asyncio.Event()
        self.ledger: AnchorLedger | None = None

    def lag_s(self) -> float:
        """How long the oldest record still waiting has been on Kafka (s)."""
        return round(time.time() - self.oldest, 1) if self.oldest else 0.0

    def take(self, event: EventT) -> None:
        """Hold one record for anchoring (or let it go if the chain already has it)."""
        message = event.message
        stream = Stream(message.topic, message.partition)
        try:
            self.backlogs.add(stream, message.offset, message.value or b"")
        except ReadPastAnchors as exc:
            _exit_for_rewind(exc)
        self.held[stream].append(event)
        self.oldest = self.oldest or message.timestamp
        if self.backlogs.largest() >= self.settings.anchor_batch_size:
            self.due.set()

    async def run(self) -> None:
        """Anchor whatever is due, forever; on chain trouble retry with back-off."""
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.due.wait(), self.settings.anchor_batch_seconds)
            self.due.clear()
            try:
                await self.flush()
                failures = 0
            except ReadPastAnchors as exc:
                _exit_for_rewind(exc)
            except Exception as exc:
                self.ledger = None  # re-open, and re-read every position from the chain
                delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
                failures += 1
                log.warning("anchoring failed; retrying", error=_reason(exc), retry_in_s=delay,
                            lag_events=self.backlogs.pending(), lag_s=self.lag_s())
                await asyncio.sleep(delay)

    async def flush(self) -> None:
        """Anchor every batch that can be cut now, announce it, release its records.

        Batches are announced before the backlog is told they are on chain: if announcing
        fails, the retry re-reads the chain's positions and re-announces from the logs.
        """
        if self.ledger is None:
            self.ledger = await asyncio.to_thread(AnchorLedger.open, self.settings)
            self.backlogs.forget_positions()
        for stream, events in list(self.held.items()):
            if events and not self.backlogs.known(stream):
                await self._position(stream, events[0].message.offset)
        while batches := self.backlogs.cut(self.settings.anchor_batch_size,
                                           self.settings.anchor_batches_per_transaction):
            anchored = await asyncio.to_thread(self.ledger.anchor, batches)
            await self._announce(anchored)
            self.backlogs.confirm(batches)
            log.info("anchored", batches=len(anchored), events=sum(b.count for b in batches),
                     gas=anchored[0].tx_gas_used)
            await self._release()
        await self._release()

    async def _position(self, stream: Stream, lowest_held: int) -> None:
        """Learn the chain's position; re-announce chain batches over records we re-read."""
        assert self.ledger is not None
        next_offset = await asyncio.to_thread(self.ledger.next_offset, stream)
        if lowest_held < next_offset:
            # Anchored already, by a previous run or before a failed announcement: say so
            # again (the events come out identical, and consumers keep one).
            earlier = await asyncio.to_thread(self.ledger.anchored, stream, lowest_held)
            await self._announce(earlier)
        self.backlogs.set_chain_position(stream, next_offset)

    async def _announce(self, anchored: list[AnchoredBatch]) -> None:
        """Send a ``BatchAnchored`` per batch and wait until Kafka has them all."""
        assert self.ledger is not None
        deployment = self.ledger.deployment
        deliveries = []
        for batch in anchored:
            event = batch_anchored_event(batch, deployment.chain_id, self.ledger.address)
            deliveries.append(await self.announcements.send(key=event.key.encode(),
                                                            value=event.to_bytes()))
        await asyncio.gather(*deliveries)

    async def _release(self) -> None:
        """Acknowledge every held record the chain now covers."""
        for stream, events in list(self.held.items()):
            covered = self.backlogs.covered(stream)
            keep = next((i for i, e in enumerate(events) if e.message.offset >= covered),
                        len(events))
            for event in events[:keep]:
                await self.stream.ack(event)  # type: ignore[union-attr]
            del events[:keep]
        oldest = [events[0].message.timestamp for events in self.held.values() if events]
        self.oldest = min(oldest) if oldest else None


def _reason(exc: Exception) -> str:
    """A revert by its custom error's name and arguments; anything else as it is."""
    if isinstance(exc, ContractLogicError):
        return f"reverted: {decode_revert(exc)}"
    return repr(exc)


def _exit_for_rewind(exc: ReadPastAnchors) -> None:
    log.critical("anchoring cannot continue: the consumer group is ahead of the chain "
                 "(a new chain?); exiting, and a restart rewinds it (or `flexmarket chain "
                 "rewind`)", error=str(exc))
    os._exit(EXIT_INFRASTRUCTURE)
