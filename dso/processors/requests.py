"""The DSO's flexibility requests: when a session opens, a power flow per MTU of its window
on the forecast; each violation becomes a GridAlertRaised and, where PoDs can help, a
FlexRequestSubmitted sized to clear it (Platone FR_DTP_ROF_3, flow 2c).

Real-time sessions forecast with the day-ahead awards in place (the digest's RT scenario:
"DA-accepted flexibility services in place of the baselines"), from the state estimated
from the latest readings (``dso.state``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog
from faust.types import StreamT
from sqlalchemy import Engine, create_engine

from dso.domain.estimation import fading_changes, forecast_withdrawal
from dso.domain.grid import UnknownGridPoint, load_grid
from dso.domain.posting import alerts_of, request_of
from dso.domain.powerflow import PowerFlow
from dso.domain.requests import PodOnGrid, find_needs
from dso.domain.scenario import day_scenarios
from dso.domain.validation import MtuScenario, injection_mva
from dso.processors.validation import limits_of
from dso.state import current_state
from ledger.catalog import EventPayload, new_event
from ledger.envelope import Event, derived_event_id
from ledger.errors import FlexmarketError
from ledger.processors.support import event_of, publish, raw_topic, until_done, wait_until_projected
from ledger.settings import Settings
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import (
    MTU,
    SessionKind,
    SessionSlot,
    delivery_mtus,
    find_session,
    session_id,
)
from market.domain.clock import Clock
from market.domain.events import SessionOpened
from market.domain.submissions import check_request
from market.store import queries

log = structlog.get_logger("flexmarket.dso.requests")
# The PoDs, the requests already posted and the day-ahead outcome must be read first.
PLANNING_INPUTS = (Topic.REGISTRY, Topic.REQUESTS, Topic.OUTCOMES)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the DSO's request agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    clock = build_clock(settings)
    power_flow = PowerFlow(load_grid(settings.dso_grid))
    sessions = raw_topic(app, settings, Topic.SESSIONS)
    requests = raw_topic(app, settings, Topic.REQUESTS)

    @app.agent(sessions, name="dso-requests")
    async def dso_requests(stream: StreamT) -> None:
        async for value in stream:
            found = event_of(value, SessionOpened)
            slot = found and find_session(found[1].session_id, ZoneInfo(settings.time_zone))
            if slot is None:
                continue
            await until_done(partial(wait_until_projected, settings, engine, PLANNING_INPUTS),
                             "wait for the read models")
            events = await until_done(partial(asyncio.to_thread, plan_requests, settings,
                                              engine, clock, power_flow, slot),
                                      "plan flexibility requests")
            if events:
                await until_done(partial(publish, requests, events), "publish requests")


def pods_on_grid(engine: Engine, power_flow: PowerFlow) -> list[PodOnGrid]:
    """The registered PoDs the DSO can place on its grid."""
    with engine.connect() as conn:
        views = queries.active_pods(conn)
    placed = []
    for v in views:
        try:
            bus = power_flow.grid.locate(v.primary_substation, v.mv_feeder,
                                         v.secondary_substation)
        except UnknownGridPoint:
            continue
        placed.append(PodOnGrid(pod_id=v.pod_id, bus=bus, up_p_kw=v.up_p_kw,
                                down_p_kw=v.down_p_kw, up_q_kvar=v.up_q_kvar,
                                down_q_kvar=v.down_q_kvar))
    return placed


def session_scenarios(settings: Settings, engine: Engine, power_flow: PowerFlow,
                      slot: SessionSlot, pods: list[PodOnGrid],
                      now: datetime) -> dict[int, MtuScenario]:
    """The forecast of the session's MTUs. A real-time session's (the next 4 hours) has
    the day-ahead awards applied at their PoDs' buses, and starts from the state estimated
    from the latest readings, fading back to the profile."""
    zone = ZoneInfo(settings.time_zone)
    day = day_scenarios(slot.delivery_day, zone, load_scale=settings.dso_load_scale,
                        sgen_scale=settings.dso_sgen_scale)
    mtus = range(slot.first_mtu, slot.first_mtu + slot.mtu_count)
    changes: dict[int, dict[int, complex]] = {m: {} for m in mtus}
    if slot.kind is SessionKind.REAL_TIME:
        with engine.connect() as conn:
            awarded = queries.awarded_capacity(
                conn, session_id(SessionKind.DAY_AHEAD, slot.delivery_day))
            estimate, index, _ = current_state(conn, settings, power_flow.grid, now)
        bus_of = {p.pod_id: p.bus for p in pods}
        for (pod, direction, quantity_type, mtu), quantity in awarded.items():
            if pod in bus_of and slot.covers(mtu):
                at = changes[mtu]
                at[bus_of[pod]] = at.get(bus_of[pod], 0j) + injection_mva(
                    direction, quantity_type, quantity)
        if estimate.converged and estimate.measured_buses:
            now_day = day_scenarios(now.astimezone(zone).date(), zone,
                                    load_scale=settings.dso_load_scale,
                                    sgen_scale=settings.dso_sgen_scale)[index]
            deviation = estimate.deviation_mva(forecast_withdrawal(power_flow.grid, now_day))
            starts = {m.index: m.start for m in delivery_mtus(slot.delivery_day, zone)}
            elapsed = {m: (starts[m] - now) / MTU for m in mtus}
            for m, seeded in fading_changes(deviation, elapsed).items():
                for bus, s in seeded.items():
                    changes[m][bus] = changes[m].get(bus, 0j) + s
    return {m: MtuScenario(day[m].load_scale, day[m].sgen_scale, changes[m]) for m in mtus}


def plan_requests(settings: Settings, engine: Engine, clock: Clock, power_flow: PowerFlow,
                  slot: SessionSlot) -> list[Event]:
    """The alerts and requests of an opened session, or nothing if the DSO posted them
    already. Each request passes the market's own arrival rules before it is posted."""
    with engine.connect() as conn:
        _, posted = queries.list_requests(conn, session_id=slot.session_id,
                                          requester_id=settings.dso_id)
    if posted:
        return []
    pods = pods_on_grid(engine, power_flow)
    now = clock.now()
    scenarios = session_scenarios(settings, engine, power_flow, slot, pods, now)
    alerts, needs = find_needs(power_flow, pods, scenarios, limits_of(settings),
                               voltage_quantity_type=settings.dso_voltage_quantity_type)
    zone = ZoneInfo(settings.time_zone)
    with engine.connect() as conn:
        views = queries.get_pod_views(conn, {p for n in needs for p in n.pod_ids})
    raised = alerts_of(slot, alerts)
    payloads: list[EventPayload] = [*raised]
    for need in needs:
        request = request_of(slot, need, settings.dso_id, zone)
        try:
            check_request(request, slot, views, True, now, slot.kind.value)
        except FlexmarketError as exc:
            log.error("DSO request refused by the market's rules", request=request.request_id,
                      code=exc.code, field=exc.field, error=exc.message)
            continue
        payloads.append(request)
    log.info("flexibility requests planned", session=slot.session_id, alerts=len(alerts),
             requests=len(payloads) - len(raised))
    return [new_event(p, actor=settings.dso_id, occurred_at=now,
                      event_id=derived_event_id(slot.opens_at, type(p).__name__,
                                                slot.session_id, str(k)))
            for k, p in enumerate(payloads)]
