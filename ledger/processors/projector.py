"""The projector: every catalog topic → SQL read models, exactly once per event."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import faust
import structlog
from faust.types import EventT

from ledger.processors.support import completed, until_done
from ledger.projection import DeadLetter, Projected, Record, project
from ledger.settings import Settings
from ledger.store.writer import ReadModelWriter, make_async_engine
from ledger.topics import PROJECTED_TOPICS, Topic, topic_name

log = structlog.get_logger("flexmarket.projector")


def attach(app: faust.App, settings: Settings) -> None:
    """Add the projector agent to ``app``."""
    writer = ReadModelWriter(make_async_engine(settings.read_model_url))
    sources = app.topic(*(topic_name(settings, t) for t in PROJECTED_TOPICS),
                        key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(topic_name(settings, Topic.DEAD_LETTERS),
                             key_serializer="raw", value_serializer="raw")

    @app.agent(sources, name="projector")
    async def projector(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(settings.projector_batch_size,
                                              within=settings.projector_batch_seconds):
            items = [project(_record(event)) for event in batch]
            await completed(until_done(partial(_write, items, writer, dead_letters),
                                       "projector write"))

async def _write(items: Sequence[Projected | DeadLetter], writer: ReadModelWriter,
                 dead_letters: faust.TopicT) -> None:
    for dead in (i for i in items if isinstance(i, DeadLetter)):
        log.warning("dead letter", code=dead.code, reason=dead.reason, topic=dead.record.topic,
                    partition=dead.record.partition, offset=dead.record.offset)
        # Sent before the batch commits: a crash in between re-sends (at least once),
        # and the record's position in the headers identifies repeats.
        await dead_letters.send(key=dead.record.key, value=dead.record.value or b"", headers={
            "code": dead.code.encode(), "reason": dead.reason.encode(),
            "source": f"{dead.record.topic}/{dead.record.partition}/{dead.record.offset}".encode(),
        })
    result = await writer.write(items)
    log.info("projected batch", events=result.projected, duplicates=result.duplicates,
             dead_letters=result.dead_letters)


def _record(event: EventT) -> Record:
    message = event.message
    return Record(message.topic, message.partition, message.offset, message.key, message.value)
