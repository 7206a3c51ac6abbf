"""Final clearing: on TechnicalValidationCompleted, publish the validated outcome and each
participant's share of it on ``results.<participant>`` (Platone FR_MP_FS_5)."""

from __future__ import annotations

import asyncio
from functools import partial

import faust
import structlog
from faust.types import StreamT
from sqlalchemy import Engine, create_engine

from dso.domain.events import TechnicalValidationCompleted
from ledger.catalog import new_event, topic_of
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import event_of, publish, raw_topic, until_done, wait_until_projected
from ledger.settings import Settings
from ledger.topics import Topic
from market.domain.events import MarketCleared
from market.domain.final_clearing import participant_results, validate_outcome
from market.domain.scheduler import SCHEDULER_ACTOR
from market.store import queries

log = structlog.get_logger("flexmarket.final_clearing")


def attach(app: faust.App, settings: Settings) -> None:
    """Add the final-clearing agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    validations = raw_topic(app, settings, Topic.VALIDATIONS)
    outcomes = raw_topic(app, settings, Topic.OUTCOMES)

    @app.agent(validations, name="final-clearing")
    async def final_clearing(stream: StreamT) -> None:
        async for value in stream:
            found = event_of(value, TechnicalValidationCompleted)
            if found is None:
                continue
            event, validation = found
            # The market outcome it validates is published before it; wait until it is read.
            await until_done(partial(wait_until_projected, settings, engine, [Topic.OUTCOMES]),
                             "wait for the read models")
            made = await until_done(partial(asyncio.to_thread, finalise, engine, event,
                                            validation), "final clearing")
            if made:
                validated, results = made
                await until_done(partial(publish, outcomes, [validated]), "publish outcome")
                for result in results:
                    topic = raw_topic(app, settings, topic_of(result))
                    await until_done(topic.maybe_declare, "declare results topic")
                    await until_done(partial(publish, topic, [result]), "publish results")


def finalise(engine: Engine, event: Event,
             validation: TechnicalValidationCompleted) -> tuple[Event, list[Event]] | None:
    """The validated outcome and the per-participant results, or None when the validation
    cannot be applied (logged: an unknown market outcome, awards it does not have).

    Ids derive from the validation event, so doing it again gives the same events.
    """
    with engine.connect() as conn:
        market = queries.get_outcome(conn, validation.market_outcome_event_id)
        participants = queries.session_participants(conn, validation.session_id)
    if market is None or market.stage != "market":
        log.error("technical validation of an unknown market outcome",
                  validation=str(event.event_id), outcome=validation.market_outcome_event_id)
        return None
    try:
        payload = validate_outcome(MarketCleared.model_validate(market.payload),
                                   market.event_id, validation, str(event.event_id))
    except ValueError as exc:
        log.error("technical validation does not fit its market outcome",
                  validation=str(event.event_id), error=str(exc))
        return None
    # The validation's time, not the clock's: a redelivered validation must give the
    # same events byte for byte, as their ids already are.
    now = event.occurred_at
    validated = new_event(payload, actor=SCHEDULER_ACTOR, occurred_at=now,
                          event_id=derived_event_id(event.occurred_at, "ValidatedOutcome",
                                                    str(event.event_id)))
    results = [new_event(r, actor=SCHEDULER_ACTOR, occurred_at=now,
                         event_id=derived_event_id(event.occurred_at, "Results",
                                                   str(event.event_id), r.participant_id))
               for r in participant_results(payload, str(validated.event_id), participants)]
    return validated, results
