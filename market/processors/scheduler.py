"""The session scheduler: SessionOpened and SessionClosed at the calendar's gate times,
on the deployment's clock (real or simulated)."""

from __future__ import annotations

import asyncio
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog

from ledger.envelope import Event, parse_event
from ledger.errors import InvalidEvent
from ledger.kafka_log import end_offsets, read_partitions
from ledger.processors.support import publish, raw_topic, until_done
from ledger.settings import Settings
from ledger.topics import Topic, topic_name
from market.clock import build_clock
from market.domain.scheduler import Announced, due_announcements

log = structlog.get_logger("flexmarket.scheduler")


def attach(app: faust.App, settings: Settings) -> None:
    """Add the scheduler's timer to ``app``.

    Every worker runs it; two workers announce the same events (same ids, same bytes),
    which consumers keep once.
    """
    clock = build_clock(settings)
    zone = ZoneInfo(settings.time_zone)
    sessions = raw_topic(app, settings, Topic.SESSIONS)
    state: dict[str, Announced] = {}
    started_at = clock.now()

    @app.timer(interval=settings.scheduler_tick_seconds, name="session-scheduler")
    async def schedule() -> None:
        if "announced" not in state:
            state["announced"] = await until_done(
                partial(asyncio.to_thread, _announced_on_log, settings), "read sessions log")
        due = due_announcements(clock.now(), state["announced"], started_at, zone)
        if not due:
            return
        await until_done(partial(publish, sessions, due), "announce sessions")
        for event in due:
            log.info("session transition", session=event.key, type=event.type)
        before = state["announced"]
        state["announced"] = Announced(
            before.transitions | {(e.key, e.type) for e in due},
            max([e.occurred_at for e in due] + ([before.latest] if before.latest else [])))


def _announced_on_log(settings: Settings) -> Announced:
    name = topic_name(settings, Topic.SESSIONS)
    ranges = {k: (0, end) for k, end in end_offsets(settings, [name]).items()}
    events: list[Event] = []
    for record in read_partitions(settings, ranges):
        try:
            events.append(parse_event(record.value or b""))
        except InvalidEvent:
            continue  # a dead letter of the projector's; not an announcement
    return Announced.from_events(events)
