"""What stream processors share: their topics as raw bytes, picking the events they act
on, retrying infrastructure steps, publishing events and waiting for the read models to
catch up with the log."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TypeVar

import faust
import structlog
from sqlalchemy import Engine, select

from ledger.catalog import EventPayload, typed_payload
from ledger.envelope import Event, parse_event
from ledger.errors import InvalidEvent
from ledger.kafka_log import committed_offsets, end_offsets
from ledger.settings import Settings
from ledger.store.models import ProjectorOffset
from ledger.topics import Topic, topic_name

log = structlog.get_logger("flexmarket.processors")

# Exit status of a worker that gave up on its database or broker; a supervisor restarts it.
EXIT_INFRASTRUCTURE = 75
RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30)
T = TypeVar("T")
P = TypeVar("P", bound=EventPayload)


def raw_topic(app: faust.App, settings: Settings, topic: Topic | str) -> faust.TopicT:
    """A catalog topic as bytes: records are parsed and checked by our envelope, never by
    a Faust codec."""
    return app.topic(topic_name(settings, topic), key_serializer="raw",
                     value_serializer="raw")


def event_of(value: bytes, kind: type[P]) -> tuple[Event, P] | None:
    """The event and its payload if ``value`` is a valid event of type ``kind``; None for
    any other record (an invalid one is the projector's to dead-letter)."""
    try:
        event = parse_event(value)
        payload = typed_payload(event)
    except InvalidEvent:
        return None
    return (event, payload) if isinstance(payload, kind) else None


def answer_each(app: faust.App, settings: Settings, *, name: str, source: Topic,
                kind: type[P], target: Topic,
                answer: Callable[[Event, P], list[Event] | Event | None],
                engine: Engine | None = None, wait_for: Iterable[Topic] = ()) -> None:
    """The shape most processors share: for every event of ``kind`` on ``source``, wait
    until the read models hold ``wait_for``, compute the answer in a thread (``answer``
    may read SQL and is given the event and its payload; it returns events, one, or
    None), and publish it on ``target``.

    Every step retries and gives up by exiting (``until_done``), so a message is either
    answered or read again; an answer of no events publishes nothing.
    """
    wanted = list(wait_for)
    if wanted and engine is None:
        raise ValueError(f"{name} waits for {wanted} but has no read-model engine")
    source_topic, target_topic = raw_topic(app, settings, source), raw_topic(app, settings,
                                                                              target)

    async def agent(stream: faust.StreamT) -> None:
        async for value in stream:
            found = event_of(value, kind)
            if found is None:
                continue
            if wanted:
                await until_done(partial(wait_until_projected, settings, engine, wanted),
                                 "wait for the read models")
            made = await until_done(partial(asyncio.to_thread, answer, *found), name)
            events = made if isinstance(made, list) else [] if made is None else [made]
            if events:
                await until_done(partial(publish, target_topic, events), f"publish {name}")

    app.agent(source_topic, name=name)(agent)


async def completed(step: Awaitable[T]) -> T:
    """Run ``step`` to its end even if the agent is stopped meanwhile.

    Faust's ``take_events`` acknowledges the batch in hand in a ``finally`` when its agent
    stops: a batch whose processing was cut short there would be committed unprocessed,
    and lost. The stop waits for the batch instead, then goes on.
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def until_done(step: Callable[[], Awaitable[T]], what: str) -> T:
    """Retry an infrastructure step; if it keeps failing, exit without acknowledging.

    Faust acks a message in a ``finally`` even when the agent raises, so raising here
    would lose it. Exiting the process before the ack leaves the offsets uncommitted, and
    the restarted worker reads the message again.
    """
    for delay in (*RETRY_DELAYS_S, None):
        try:
            return await step()
        except Exception as exc:
            if delay is None:
                log.critical("giving up; exiting so the message is read again", step=what,
                             error=repr(exc))
                os._exit(EXIT_INFRASTRUCTURE)
            log.error("step failed; retrying", step=what, error=repr(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or exits


async def publish(topic: faust.TopicT, events: Iterable[Event]) -> None:
    """Send events keyed per the catalog and wait until Kafka has them all."""
    deliveries = [await topic.send(key=e.key.encode(), value=e.to_bytes()) for e in events]
    await asyncio.gather(*deliveries)


async def wait_until_projected(settings: Settings, engine: Engine, topics: Iterable[Topic],
                               *, poll_s: float = 0.2, warn_every_s: float = 30.0) -> None:
    """Wait until the projector has projected every record now on ``topics``, so that a
    read of the read models sees at least what the log holds at this moment."""
    names = [topic_name(settings, t) for t in topics]
    ends = await asyncio.to_thread(end_offsets, settings, names)
    wanted = {k: end - 1 for k, end in ends.items() if end > 0}

    async def caught_up() -> bool:
        done = await asyncio.to_thread(_projected, engine, names)
        return all(done.get(k, -1) >= last for k, last in wanted.items())

    await _poll(caught_up, "the projector", names, poll_s, warn_every_s)


async def wait_until_consumed(settings: Settings, topic: Topic, *, poll_s: float = 0.2,
                              warn_every_s: float = 30.0) -> None:
    """Wait until this worker's consumer group has committed every record now on
    ``topic``: what arrived before this moment has been processed."""
    name = topic_name(settings, topic)
    ends = await asyncio.to_thread(end_offsets, settings, [name])

    async def caught_up() -> bool:
        done = await asyncio.to_thread(committed_offsets, settings, settings.app_id, [name])
        return all(done.get(k, 0) >= end for k, end in ends.items())

    await _poll(caught_up, "the consumers", [name], poll_s, warn_every_s)


async def _poll(caught_up: Callable[[], Awaitable[bool]], who: str, topics: list[str],
                poll_s: float, warn_every_s: float) -> None:
    waited = 0.0
    while not await caught_up():
        await asyncio.sleep(poll_s)
        waited += poll_s
        if waited >= warn_every_s:
            log.warning(f"still waiting for {who}", topics=topics)
            waited = 0.0


def _projected(engine: Engine, names: list[str]) -> dict[tuple[str, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(ProjectorOffset.topic, ProjectorOffset.partition,
                                   ProjectorOffset.offset).where(ProjectorOffset.topic.in_(names)))
        return {(t, p): o for t, p, o in rows}
