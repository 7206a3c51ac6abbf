"""The shared customer database's publications on the deployment's clock: a missing
reading for every quarter-hour an enrolled PoD's light node left silent (FR_SCD_PD_3),
and the daily bundle (MeteringDayClosed, FR_SCD_PDA_1/2) that starts settlement.

When the access layer runs in the same worker, its backlog of packets is worked off
first, so a reading that arrived in time is never published as missing because it was
still queued. (A deployment running the access layer in workers of their own relies on
the grace, ``FLEXMARKET_METERING_GRACE_MINUTES``.)"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import structlog
from sqlalchemy import Engine, create_engine

from access_layer.domain.events import MeteringDayClosed
from access_layer.domain.publication import (
    days_to_close,
    missing_readings,
    quarter_floor,
)
from access_layer.store import queries
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.faust_app import selected_processors
from ledger.processors.support import (
    publish,
    raw_topic,
    until_done,
    wait_until_consumed,
    wait_until_projected,
)
from ledger.settings import Settings
from ledger.store.queries import utc
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import MTU, local_midnight

log = structlog.get_logger("flexmarket.scd")
SCD_ACTOR = "flexmarket-scd"
# On start, quarter-hours this far back are checked again (what was published stays).
LOOKBACK = timedelta(days=1)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the publication timer to ``app``."""
    clock = build_clock(settings)
    zone = ZoneInfo(settings.time_zone)
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    readings = raw_topic(app, settings, Topic.READINGS)
    grace = timedelta(minutes=settings.metering_grace_minutes)
    checked: dict[str, datetime] = {}
    certifying = "access_layer.processors.certification" in selected_processors(settings)

    @app.timer(interval=settings.scheduler_tick_seconds, name="metering-publication")
    async def publish_metering() -> None:
        until = quarter_floor(clock.now() - grace)
        since = checked.get("until", until - LOOKBACK)
        if since >= until:
            return
        if certifying:
            # Packets that arrived in time but are still queued are not missing.
            await until_done(partial(wait_until_consumed, settings, Topic.PACKETS),
                             "wait for the access layer")
        await until_done(partial(wait_until_projected, settings, engine,
                                 [Topic.REGISTRY, Topic.READINGS]), "wait for readings")
        missing = await until_done(partial(asyncio.to_thread, _missing, engine, since, until),
                                   "find missing readings")
        if missing:
            await until_done(partial(publish, readings, missing), "publish missing readings")
            log.info("readings missing", quarter_hours=len(missing))
            await until_done(partial(wait_until_projected, settings, engine,
                                     [Topic.READINGS]), "wait for missing readings")
        # Only days the missing readings were published for: up to ``until``, not to
        # now, which may be later if the waits above took a while.
        closed = await until_done(partial(asyncio.to_thread, _closed_days, engine, zone,
                                          until, grace), "close metering days")
        if closed:
            await until_done(partial(publish, readings, closed), "publish daily bundles")
            for event in closed:
                log.info("metering day closed", day=event.key)
        checked["until"] = until


def _missing(engine: Engine, since: datetime, until: datetime) -> list[Event]:
    with engine.connect() as conn:
        nodes = {pod: (row.node_address, utc(row.enrolled_at))
                 for pod, row in queries.enrolled_nodes(conn).items()}
        published = queries.published_between(conn, since, until)
    # Ids and times from the quarter-hour: publishing a gap again gives the same event.
    return [new_event(m, actor=SCD_ACTOR, occurred_at=m.interval_start + MTU,
                      event_id=derived_event_id(m.interval_start, "MeterReadingMissing",
                                                m.pod_id))
            for m in missing_readings(nodes, since, until, published)]


def _closed_days(engine: Engine, zone: ZoneInfo, until: datetime,
                 grace: timedelta) -> list[Event]:
    with engine.connect() as conn:
        nodes: dict[str, Any] = queries.enrolled_nodes(conn)
        if not nodes:
            return []
        first = min(utc(n.enrolled_at) for n in nodes.values()).astimezone(zone).date()
        events = []
        for day in days_to_close(first, queries.last_closed_day(conn), until, timedelta(0),
                                 zone):
            start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1),
                                                                   zone)
            certified, missing, rejected = queries.day_counts(conn, start, end)
            pods = sum(1 for n in nodes.values() if utc(n.enrolled_at) < end)
            bundle = MeteringDayClosed(delivery_day=day, pods=pods, certified=certified,
                                       missing=missing, rejected=rejected)
            events.append(new_event(bundle, actor=SCD_ACTOR, occurred_at=end + grace,
                                    event_id=derived_event_id(end, "MeteringDayClosed",
                                                              day.isoformat())))
    return events
