"""The DSO's flexibility requests: when a session opens, a power flow per MTU of its window
on the forecast (``dso.forecasting``); each violation becomes a GridAlertRaised and, where
PoDs can help, a FlexRequestSubmitted sized to clear it (Platone FR_DTP_ROF_3, flow 2c)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import faust
import structlog
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine

from dso.domain.forecast import ForecastError
from dso.domain.grid import GridError
from dso.domain.posting import alerts_of, request_of
from dso.domain.powerflow import PowerFlow
from dso.domain.requests import find_needs
from dso.forecasting import pods_on_grid, session_scenarios
from dso.grids import limits_of, power_flow_of
from dso.store import queries as dso_queries
from ledger.catalog import EventPayload, new_event
from ledger.envelope import Event, derived_event_id
from ledger.errors import FlexmarketError
from ledger.processors.support import answer_each
from ledger.settings import Settings
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import SessionSlot, find_session
from market.domain.clock import Clock
from market.domain.events import SessionOpened
from market.domain.submissions import check_request
from market.store import queries

log = structlog.get_logger("flexmarket.dso.requests")
# The PoDs, what the DSO already posted and the day-ahead outcome must be read first.
PLANNING_INPUTS = (Topic.REGISTRY, Topic.REQUESTS, Topic.OUTCOMES)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the DSO's request agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    clock = build_clock(settings)
    power_flow = power_flow_of(settings.dso_grid)
    zone = ZoneInfo(settings.time_zone)

    def answer(event: Event, opened: SessionOpened) -> list[Event]:
        slot = find_session(opened.session_id, zone)
        return [] if slot is None else plan_requests(settings, engine, clock, power_flow,
                                                      slot)

    answer_each(app, settings, name="dso-requests", source=Topic.SESSIONS,
                kind=SessionOpened, target=Topic.REQUESTS, engine=engine,
                wait_for=PLANNING_INPUTS, answer=answer)


def plan_requests(settings: Settings, engine: Engine, clock: Clock, power_flow: PowerFlow,
                  slot: SessionSlot) -> list[Event]:
    """The alerts and requests of an opened session, or nothing if the DSO posted them
    already. Each request passes the market's own arrival rules before it is posted.

    Ids derive from what each event is about (the request, the alerted asset) and times
    from the session's opening, so planning again after a restart gives the same events.
    A grid or forecast the planning cannot use is logged and posts nothing: it must not
    stop the worker that reads the next session.
    """
    with engine.connect() as conn:
        if dso_queries.dso_posted(conn, slot.session_id, settings.dso_id):
            return []
        now = clock.now()
        try:
            scenarios = session_scenarios(conn, settings, power_flow.grid, slot, now)
            pods = pods_on_grid(conn, power_flow.grid)
            alerts, needs = find_needs(
                power_flow, pods, scenarios, limits_of(settings),
                voltage_quantity_type=settings.dso_voltage_quantity_type)
            raised = alerts_of(slot, alerts)
            requests = [request_of(slot, n, settings.dso_id, ZoneInfo(settings.time_zone))
                        for n in needs]
        except (GridError, ForecastError, ValidationError) as exc:
            log.error("flexibility requests not planned", session=slot.session_id,
                      error=str(exc)[:500])
            return []
        views = queries.get_pod_views(conn, {p for r in requests for p in r.eligible_pods})
    posted: list[tuple[str, EventPayload]] = [
        (f"{a.grid_point}/{a.kind}/{a.asset}", a) for a in raised]
    for need, request in zip(needs, requests, strict=True):
        try:
            check_request(request, slot, views, True, now, slot.kind.value)
        except FlexmarketError as exc:
            log.error("DSO request refused by the market's rules", request=request.request_id,
                      code=exc.code, field=exc.field, error=exc.message)
            continue
        for note in need.notes:
            log.warning("DSO request sized with a caveat", request=request.request_id,
                        note=note)
        posted.append((request.request_id, request))
    log.info("flexibility requests planned", session=slot.session_id, alerts=len(raised),
             requests=len(posted) - len(raised))
    return [new_event(p, actor=settings.dso_id, occurred_at=slot.opens_at,
                      event_id=derived_event_id(slot.opens_at, type(p).__name__,
                                                slot.session_id, about))
            for about, p in posted]
