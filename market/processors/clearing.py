"""The clearing processor: on SessionClosed, clear the session and publish MarketCleared
(Platone FR_MP_FS_3)."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import structlog
from faust.types import StreamT
from sqlalchemy import Engine, create_engine

from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import event_of, publish, raw_topic, until_done, wait_until_projected
from ledger.settings import Settings
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import SessionSlot, find_session
from market.domain.clearing.errors import ClearingError
from market.domain.clearing.registry import get_clearer
from market.domain.clock import Clock
from market.domain.events import SessionClosed
from market.domain.outcome import market_outcome
from market.domain.scheduler import SCHEDULER_ACTOR
from market.store.clearing_input import load_clearing_input
from market.store.queries import latest_outcome

log = structlog.get_logger("flexmarket.clearing")
# What a session's clearing reads must be projected first (offers name registered PoDs;
# RT netting reads the DA outcome).
CLEARING_INPUTS = (Topic.REGISTRY, Topic.REQUESTS, Topic.OFFERS, Topic.OUTCOMES)
FALLBACK_ENGINE = "merit_order"


def engine_options(settings: Settings) -> dict[str, Any]:
    """The configured engine's options (only NSGA-II has any)."""
    if settings.clearing_engine == "nsga2":
        return {"population": settings.nsga2_population,
                "generations": settings.nsga2_generations, "seed": settings.clearing_seed}
    return {}


def attach(app: faust.App, settings: Settings) -> None:
    """Add the clearing agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    clock = build_clock(settings)
    zone = ZoneInfo(settings.time_zone)
    sessions = raw_topic(app, settings, Topic.SESSIONS)
    outcomes = raw_topic(app, settings, Topic.OUTCOMES)

    @app.agent(sessions, name="clearing")
    async def clearing(stream: StreamT) -> None:
        async for value in stream:
            found = event_of(value, SessionClosed)
            slot = found and find_session(found[1].session_id, zone)
            if slot is None:
                continue
            # Submissions accepted just before the gate may still be on their way.
            await asyncio.sleep(settings.clearing_settle_seconds)
            await until_done(partial(wait_until_projected, settings, engine, CLEARING_INPUTS),
                             "wait for the read models")
            event = await until_done(partial(asyncio.to_thread, clear_session, settings,
                                             engine, clock, slot), "clear session")
            if event is not None:
                await until_done(partial(publish, outcomes, [event]), "publish outcome")


def clear_session(settings: Settings, engine: Engine, clock: Clock,
                  slot: SessionSlot) -> Event | None:
    """The market outcome of a closed session, or None if it was cleared already.

    The event's id derives from the session, so clearing again after a crash gives the
    same id, which consumers keep once. Should the configured engine fail, merit order
    clears instead and the outcome's statistics say so: a session is never left without
    an outcome.
    """
    with engine.connect() as conn:
        if latest_outcome(conn, slot.session_id, "market") is not None:
            return None
        given = load_clearing_input(conn, slot, settings.default_reliability)
    started = time.perf_counter()
    try:
        result = get_clearer(settings.clearing_engine, **engine_options(settings)).clear(
            given.problem, pricing=settings.clearing_pricing)
    except ClearingError as exc:
        log.error("clearing engine failed; clearing by merit order", session=slot.session_id,
                  engine=settings.clearing_engine, error=str(exc))
        result = get_clearer(FALLBACK_ENGINE).clear(given.problem,
                                                    pricing=settings.clearing_pricing)
        result = type(result)(**{**result.__dict__, "statistics": {
            **result.statistics, "fallback_from": settings.clearing_engine,
            "fallback_reason": str(exc)[:300]}})
    payload = market_outcome(slot, result, given.request_ids, given.offer_ids)
    log.info("session cleared", session=slot.session_id, engine=result.engine,
             awards=len(payload.awards), requests=len(given.request_ids),
             offers=len(given.offer_ids), seconds=round(time.perf_counter() - started, 3))
    return new_event(payload, actor=SCHEDULER_ACTOR, occurred_at=clock.now(),
                     event_id=derived_event_id(slot.gate_closes_at, "MarketCleared",
                                               slot.session_id))
