"""Dispatch (FR_AP_A_2/3): 15 minutes before each 4-hour window, the validated awards of
its MTUs (day-ahead and the window's real-time session) become one 16-slot setpoint per
activated PoD, issued as SetpointIssued for the DSO to relay to the light node.

It acts for every aggregator of the deployment; one aggregator running its own platform
would run the same with its own PoDs. Ids and times come from the window, so issuing a
window again (after a restart) repeats the same events.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog
from sqlalchemy import Engine, create_engine

from access_layer.store import queries as scd
from aggregator.domain.baselines import AggregatorError
from aggregator.domain.dispatch import ActivatedQuantity, issue_time, window_mtus, window_setpoints
from aggregator.domain.events import BaselineUploaded
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import publish, raw_topic, until_done, wait_until_projected
from ledger.settings import Settings
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import MTU, SessionKind, session_id
from market.store import queries

log = structlog.get_logger("flexmarket.dispatch")
WINDOWS = range(6)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the dispatch timer to ``app``."""
    clock = build_clock(settings)
    zone = ZoneInfo(settings.time_zone)
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    setpoints = raw_topic(app, settings, Topic.SETPOINTS)
    issued: set[tuple[date, int]] = set()

    @app.timer(interval=settings.scheduler_tick_seconds, name="dispatch")
    async def dispatch() -> None:
        now = clock.now()
        for day, window in due_windows(now, zone, issued):
            rt = session_id(SessionKind.REAL_TIME, day, window)
            await until_done(partial(wait_until_projected, settings, engine,
                                     [Topic.OUTCOMES, Topic.REGISTRY]), "wait for outcomes")
            ready = await until_done(partial(asyncio.to_thread, _validated, engine, rt),
                                     "read outcomes")
            window_start = issue_time(day, window, zone) + MTU
            if not ready and now < window_start:
                continue  # its real-time session is still being cleared and validated
            events = await until_done(partial(asyncio.to_thread, setpoints_of_window, engine,
                                              day, window, zone), "dispatch window")
            if events:
                await until_done(partial(publish, setpoints, events), "issue setpoints")
                log.info("setpoints issued", session=rt, pods=len(events))
            issued.add((day, window))


def due_windows(now: datetime, zone: ZoneInfo,
                issued: set[tuple[date, int]]) -> list[tuple[date, int]]:
    """Windows whose issue time has come and that are not over yet, not issued here yet.

    A window under way when the processor starts (a restart) still gets its setpoints:
    issuing it again repeats the same events; a window that is over is history.
    """
    due = []
    local = now.astimezone(zone).date()
    for day in (local - timedelta(days=1), local, local + timedelta(days=1)):
        for window in WINDOWS:
            at = issue_time(day, window, zone)
            # 16 MTUs, or 12 / 20 in the window of a clock change.
            ends = at + MTU + len(window_mtus(day, window, zone)) * MTU
            if at <= now < ends and (day, window) not in issued:
                due.append((day, window))
    return due


def _validated(engine: Engine, rt_session: str) -> bool:
    with engine.connect() as conn:
        return queries.latest_outcome(conn, rt_session, "validated") is not None


def setpoints_of_window(engine: Engine, day: date, window: int, zone: ZoneInfo) -> list[Event]:
    """The SetpointIssued events of one window, per aggregator and activated PoD."""
    mtus = window_mtus(day, window, zone)
    sessions = [session_id(SessionKind.DAY_AHEAD, day),
                session_id(SessionKind.REAL_TIME, day, window)]
    with engine.connect() as conn:
        rows = queries.validated_activations(conn, sessions, mtus)
        pods = queries.get_pod_views(conn, {r.pod_id for r in rows})
        baselines = {pod: scd.get_baseline(conn, pod, day) for pod in pods}
    by_aggregator: dict[str, list[ActivatedQuantity]] = defaultdict(list)
    for r in rows:
        if baselines.get(r.pod_id) is None:
            log.error("activated PoD has no baseline for the day; no setpoint", pod=r.pod_id,
                      day=day.isoformat())
            continue
        by_aggregator[r.aggregator_id].append(ActivatedQuantity(
            r.pod_id, r.mtu, r.direction, r.quantity_type, r.quantity))
    at = issue_time(day, window, zone)
    events: list[Event] = []
    for aggregator_id, activations in sorted(by_aggregator.items()):
        mine = {p: v for p, v in pods.items() if v.aggregator_id == aggregator_id}
        curves = {p: BaselineUploaded(pod_id=p, aggregator_id=b.aggregator_id,
                                      delivery_day=day, method=b.method, slots=b.slots)
                  for p, b in baselines.items() if p in mine and b is not None}
        try:
            issued = window_setpoints(day, window, zone, aggregator_id, mine, curves,
                                      activations)
        except AggregatorError as exc:
            log.error("window not dispatched", aggregator=aggregator_id, error=exc.message)
            continue
        events += [new_event(s, actor=aggregator_id, occurred_at=at,
                             event_id=derived_event_id(at, "SetpointIssued", s.activation_id))
                   for s in issued]
    return events
