"""SIGKILL of the worker running the market's processors between a day-ahead session's
gate closure and its final clearing (issue 7's fault suite).

The chain is scheduler → SessionClosed → clearing → MarketCleared → technical validation →
TechnicalValidationCompleted → final clearing → ValidatedOutcomePublished and one
ParticipantResultsPublished per participant on ``results.<participant>``. Every step
derives its event's id from what it answers, and the clearing and the validation first
look in the read models for what they published before a crash; a new worker on the same
settings (the same consumer group) reads again what the killed one had not committed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ledger.catalog import new_event
from ledger.envelope import Event, parse_event
from ledger.kafka_log import end_offsets, read_partitions
from ledger.settings import Settings
from ledger.store.models import PodRow
from ledger.topics import Topic, topic_name
from market.store.models import OutcomeRow
from tests.auth import as_aggregator, as_dso
from tests.builders import DA_CLOSED_AT, DA_SESSION, DSO_ID, make_offer_body, make_request_body
from tests.integration.faults.harness import (
    FAULT_TEST,
    Supervisor,
    assert_equals_fresh_replay,
    committed,
    fault_settings,
    projected_to_log_end,
    read_model,
    records_on,
)
from tests.integration.market.harness import MARKET_PROCESSORS, PODS, Market
from tests.integration.projection_harness import publish

pytestmark = FAULT_TEST

# Simulated time runs 4x from two minutes before the DA gate: it closes 30 real seconds
# after the settings are made, time enough for a worker to start and the bids to arrive.
# The next transition of the calendar (an RT session opening at 17:00 in Rome) is an hour
# of simulated time later, far beyond the test.
SPEED = 4.0
LEAD = timedelta(seconds=120)
# The topics the market's processors consume past gate closure.
CHAIN_TOPICS = (Topic.SESSIONS, Topic.OUTCOMES, Topic.VALIDATIONS)
# The market's processors, the anchor aside: with no chain it never acknowledges what it
# reads, so the group would never commit the chain's topics to their end.
PROCESSORS = ",".join(n for n in MARKET_PROCESSORS.split(",") if n != "anchor")
PARTICIPANTS = (DSO_ID, "AGG-1", "AGG-2")
STAGES = {"MarketCleared": "market", "TechnicalValidationCompleted": "technical",
          "ValidatedOutcomePublished": "validated"}


def _records(settings: Settings, topic: str) -> list[bytes]:
    ends = end_offsets(settings, [topic_name(settings, topic)])
    return [r.value or b"" for r in read_partitions(
        settings, {k: (0, end) for k, end in ends.items() if end})]


def _stages(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(OutcomeRow.stage).where(
            OutcomeRow.session_id == DA_SESSION)))


def _by_id(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        grouped[str(e.event_id)].append(e)
    return grouped


@pytest.mark.parametrize("kill_at", ["market", "validated"])
def test_sigkill_of_the_market_worker_between_gate_closure_and_final_clearing(
        stack: Settings, tmp_path: Path, kill_at: str) -> None:
    """The worker running the market's processors is killed as soon as the session's
    ``kill_at`` outcome (MarketCleared, or the ValidatedOutcomePublished of final
    clearing) is in the read model; a new worker on the same settings finishes the
    chain. Then the session has exactly one market, one technical and one validated
    outcome (in the read models and, by event id, on the log); an event on the log more
    than once (published again after the kill) has one id and one payload; every
    participant's results topic has its copy, and records of it with one id are
    identical; the read models equal a fresh replay.

    The windows: killed at ``market``, the kill lands after MarketCleared was projected
    and most often before the technical validation was published; killed at
    ``validated``, after final clearing published, most often before the group committed
    the validation, which the new worker then finalises again. That second window found
    final clearing stamping its events with the clock's time: a redelivery republished
    the results under their ids with other bytes. What is asserted holds in all windows;
    which one was hit is printed (``-s``).
    """
    settings = fault_settings(stack, tmp_path, processors=PROCESSORS,
                              clock="simulated", clock_start=DA_CLOSED_AT - LEAD,
                              clock_anchor=datetime.now(UTC), clock_speed=SPEED,
                              clearing_settle_seconds=1.0, projector_batch_seconds=0.05)
    engine = read_model(settings.read_model_url)
    publish(settings, [new_event(p, actor=p.aggregator_id) for p in PODS])
    offers, requests = f"/v1/sessions/{DA_SESSION}/offers", f"/v1/sessions/{DA_SESSION}/requests"

    with Supervisor(settings, tmp_path, name="market") as workers:
        def pods_projected() -> bool:
            with engine.connect() as conn:
                return len(list(conn.scalars(select(PodRow.pod_id)))) == len(PODS)

        workers.wait_until(pods_projected, what="PoDs projected", timeout_s=60)
        market = Market(settings, engine, workers.worker)
        with market.client() as client:
            posted = [
                client.post(requests, json=make_request_body(), headers=as_dso()),
                client.post(offers, json=make_offer_body(), headers=as_aggregator("AGG-1")),
                client.post(offers, json=make_offer_body(
                    aggregator_id="AGG-2", pod_id="POD-000004",
                    steps=[{"mtu": 70, "quantity": 3.0, "price_eur_per_mwh": 200.0}]),
                            headers=as_aggregator("AGG-2")),
            ]
        assert [p.status_code for p in posted] == [201] * 3, [p.text for p in posted]

        workers.wait_until(lambda: kill_at in _stages(engine), what=f"the {kill_at} outcome",
                           timeout_s=90, poll_s=0.02)
        workers.kill()
        stages_at_kill = _stages(engine)
        validations_at_kill = records_on(settings, [Topic.VALIDATIONS])
        outcomes_at_kill = records_on(settings, [Topic.OUTCOMES])
        print(f"\nat the kill: stages projected {stages_at_kill}, {outcomes_at_kill} "
              f"outcome and {validations_at_kill} validation records on the log")

        workers.start()
        topics = [topic_name(settings, f"results.{p}") for p in PARTICIPANTS]
        # Done when every participant has its copy and the group has committed every
        # record of the chain's topics: nothing is left to be read again.
        workers.wait_until(
            lambda: "validated" in _stages(engine)
            and all(end_offsets(settings, [t]) and sum(end_offsets(settings, [t]).values())
                    for t in topics)
            and committed(settings, CHAIN_TOPICS) == records_on(settings, CHAIN_TOPICS)
            and projected_to_log_end(settings, engine),
            what="the validated outcome and every participant's results", timeout_s=90)
        assert workers.exits == [], "the restarted worker exited by itself"

    assert _stages(engine) == ["market", "technical", "validated"]
    on_log = [e for t in (Topic.OUTCOMES, Topic.VALIDATIONS)
              for e in map(parse_event, _records(settings, t))
              if e.type in STAGES and e.payload.get("session_id") == DA_SESSION]
    repeated = []
    for type_ in STAGES:
        grouped = _by_id([e for e in on_log if e.type == type_])
        assert len(grouped) == 1, f"{type_}: {len(grouped)} event ids on the log"
        [(event_id, copies)] = grouped.items()
        assert all(c.payload == copies[0].payload for c in copies), \
            f"{type_} {event_id} published again with another payload"
        if len(copies) > 1:
            repeated.append(f"{type_} x{len(copies)} (envelopes identical: "
                            f"{len({c.hash for c in copies}) == 1})")
    with engine.connect() as conn:
        rows = {r.stage: r.event_id for r in conn.execute(select(OutcomeRow).where(
            OutcomeRow.session_id == DA_SESSION))}
    assert rows == {STAGES[e.type]: str(e.event_id) for e in on_log}

    for participant in PARTICIPANTS:
        records = _records(settings, f"results.{participant}")
        assert records, f"no results for {participant}"
        grouped_bytes: dict[str, set[bytes]] = defaultdict(set)
        for raw in records:
            grouped_bytes[str(parse_event(raw).event_id)].add(raw)
        assert len(grouped_bytes) == 1, f"{participant}: {len(grouped_bytes)} results"
        assert all(len(v) == 1 for v in grouped_bytes.values()), \
            f"results of {participant} published again, not identical"
        if len(records) > 1:
            repeated.append(f"results.{participant} x{len(records)}")
    print(f"published more than once: {repeated or 'nothing'}")

    assert_equals_fresh_replay(settings, engine, tmp_path)
