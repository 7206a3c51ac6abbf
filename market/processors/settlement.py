"""The settlement processor (FR_MP_SET_3..5): when the shared customer database closes a
delivery day's metering (its daily bundle), settle every awarded PoD of the day and pay
it in FlexTokens; when an operator is funded, mint its tokens and pay what was waiting.

Outcomes are computed once: a day already settled is paid from its published PodSettled
events, never recomputed, so a late reading cannot change what was settled. Every
transfer has a settlement id the chain refuses twice, and a run pays only ids the read
models do not show as paid; a batch the chain refuses because an id was paid (a crash
between the transaction and its event) is re-checked id by id. Replaying the processor
from offset 0 therefore pays nobody twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog
from faust.types import StreamT
from sqlalchemy import Engine, create_engine

from access_layer.domain.events import MeteringDayClosed
from ledger.catalog import new_event
from ledger.chain import ChainError
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import event_of, publish, raw_topic, until_done, wait_until_projected
from ledger.settings import Settings
from ledger.topics import Topic, topic_name
from market.chain.tokens import AlreadyPaid, Receipt, TokenLedger
from market.domain.events import (
    DeliveryDaySettled,
    OperatorFunded,
    PodSettled,
    TokensTransferred,
)
from market.domain.settlement import (
    SettlementRules,
    Transfer,
    plan_transfers,
    settle_pod,
    transfers_of,
)
from market.store import settlement_input

log = structlog.get_logger("flexmarket.settlement")
SETTLEMENT_ACTOR = "flexmarket-settlement"
# What a day's settlement reads; all of it must be projected first.
INPUT_TOPICS = (Topic.REGISTRY, Topic.OFFERS, Topic.OUTCOMES, Topic.READINGS, Topic.SETTLEMENTS)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the settlement agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    triggers = app.topic(topic_name(settings, Topic.READINGS),
                         topic_name(settings, Topic.SETTLEMENTS),
                         key_serializer="raw", value_serializer="raw")
    settlements = raw_topic(app, settings, Topic.SETTLEMENTS)
    ledger: list[TokenLedger] = []

    def tokens() -> TokenLedger:
        if not ledger:
            ledger.append(TokenLedger.open(settings))
        return ledger[0]

    @app.agent(triggers, name="settlement")
    async def settlement(stream: StreamT) -> None:
        async for value in stream:
            closed = event_of(value, MeteringDayClosed)
            funded = event_of(value, OperatorFunded)
            if closed is None and funded is None:
                continue
            await until_done(partial(wait_until_projected, settings, engine, INPUT_TOPICS),
                             "wait for the read models")
            if funded is not None:
                await until_done(partial(asyncio.to_thread, _fund, tokens, funded[1]),
                                 "fund operator")
                days = await asyncio.to_thread(_outstanding_days, engine)
                at = funded[0].occurred_at
            else:
                days, at = [closed[1].delivery_day], closed[0].occurred_at
            for day in days:
                outcomes = await until_done(partial(asyncio.to_thread, settle_day, settings,
                                                    engine, day, at), "settle day")
                if outcomes.new:
                    await until_done(partial(publish, settlements, outcomes.new),
                                     "publish settlements")
                paid = await until_done(partial(asyncio.to_thread, pay_day, settings, engine,
                                                tokens(), day, outcomes.settled,
                                                bool(outcomes.new)), "pay day")
                if paid:
                    await until_done(partial(publish, settlements, paid), "publish transfers")
                    await until_done(partial(wait_until_projected, settings, engine,
                                             [Topic.SETTLEMENTS]), "wait for transfers")


def _fund(tokens: Callable[[], TokenLedger], funding: OperatorFunded) -> None:
    receipt = tokens().fund(funding.operator_id, funding.amount_cents, funding.funding_id)
    if receipt is not None:
        log.info("operator funded", operator=funding.operator_id, cents=funding.amount_cents,
                 tx=receipt.tx_hash)


def _outstanding_days(engine: Engine) -> list[date]:
    with engine.connect() as conn:
        return settlement_input.days_with_outstanding(conn)


@dataclass(frozen=True)
class DayOutcomes:
    settled: list[PodSettled]  # all of the day's outcomes, published or about to be
    new: list[Event]  # the PodSettled events to publish now (empty when settled before)


def settle_day(settings: Settings, engine: Engine, day: date, at: datetime) -> DayOutcomes:
    """The day's settlement outcomes: those published before, or, the first time, one
    per awarded PoD computed from the read models (ids from the day and the PoD)."""
    zone = ZoneInfo(settings.time_zone)
    with engine.connect() as conn:
        before = settlement_input.settled_pods(conn, day)
        if before:
            return DayOutcomes(before, [])
        day_input = settlement_input.load_day_input(conn, day, zone)
    rules = SettlementRules(band=settings.settlement_band,
                            penalty_eur_per_mwh=settings.settlement_penalty_eur_per_mwh)
    outcomes = []
    for pod_id, awards in sorted(day_input.awards.items()):
        account = day_input.accounts.get(pod_id)
        if account is None:
            log.error("awarded PoD without a registration; not settled", pod=pod_id,
                      day=day.isoformat())
            continue
        mechanism = day_input.mechanisms.get(account.mechanism_id or "")
        outcomes.append(settle_pod(day, pod_id, account, awards,
                                   day_input.baselines.get(pod_id, {}),
                                   day_input.measured.get(pod_id, {}), mechanism, rules))
    events = [new_event(o, actor=SETTLEMENT_ACTOR, occurred_at=at,
                        event_id=derived_event_id(at, "PodSettled", day.isoformat(), o.pod_id))
              for o in outcomes]
    log.info("day settled", day=day.isoformat(), pods=len(outcomes))
    return DayOutcomes(outcomes, events)


def pay_day(settings: Settings, engine: Engine, tokens: TokenLedger, day: date,
            outcomes: list[PodSettled], first_run: bool) -> list[Event]:
    """Make the day's transfers that are not paid yet and that payers can cover; returns
    a TokensTransferred per transfer made and the run's DeliveryDaySettled (none when the
    run changed nothing).

    A batch the chain refuses because one of its ids was paid means an earlier run paid
    it and stopped before announcing it: those transfers are announced from the chain's
    own record of them (the same events that run would have published), and the rest is
    planned again on the balances as they now are.
    """
    with engine.connect() as conn:
        paid = settlement_input.paid_settlement_ids(conn, day)
        run = settlement_input.runs_of(conn, day) + 1
    due = [t for o in outcomes for t in transfers_of(o, settings.topic_prefix)
           if t.settlement_id not in paid]
    if not due and not first_run:
        return []
    events: list[Event] = []
    size = settings.settlement_transfers_per_transaction
    while True:
        plan = plan_transfers(due, tokens.balances({t.payer_id for t in due}))
        try:
            for start in range(0, len(plan.payable), size):
                batch = plan.payable[start:start + size]
                receipt = tokens.settle(batch)
                at = tokens.block_time(receipt.block_number)
                events += [_transferred(t, receipt, at) for t in batch]
            break
        except AlreadyPaid:
            done = {e.payload["settlement_id"] for e in events}
            earlier = [t for t in due if t.settlement_id not in done
                       and tokens.is_paid(t.settlement_id)]
            if not earlier:
                raise ChainError("the chain refused a settlement id it has not paid") from None
            log.warning("transfers paid by an earlier run; announcing them", paid=len(earlier))
            for t in earlier:
                receipt = tokens.receipt_of(t.settlement_id)
                events.append(_transferred(t, receipt, tokens.block_time(receipt.block_number)))
            announced = {e.payload["settlement_id"] for e in events}
            due = [t for t in due if t.settlement_id not in announced]
    if not events and not first_run and run > 1:
        return []
    outstanding = plan.outstanding
    at = max((e.occurred_at for e in events), default=datetime.now(UTC))
    summary = DeliveryDaySettled(
        delivery_day=day, run=run, pods=len(outcomes), transfers=len(events),
        paid_cents=sum(e.payload["amount_cents"] for e in events),
        outstanding_cents=sum(t.amount_cents for t in outstanding),
        outstanding=tuple(t.settlement_id for t in outstanding))
    if outstanding:
        log.warning("transfers outstanding: payers' wallets short", day=day.isoformat(),
                    transfers=len(outstanding), cents=summary.outstanding_cents)
    events.append(new_event(summary, actor=SETTLEMENT_ACTOR, occurred_at=at,
                            event_id=derived_event_id(at, "DaySettled", day.isoformat(),
                                                      str(run))))
    return events


def _transferred(t: Transfer, receipt: Receipt, at: datetime) -> Event:
    """The TokensTransferred of ``t``; id and time (``at``) from the block that paid it,
    so an announcement made again is the same event."""
    return new_event(TokensTransferred(
        settlement_id=t.settlement_id, delivery_day=t.delivery_day, pod_id=t.pod_id,
        kind=t.kind, payer_id=t.payer_id, payee_id=t.payee_id, amount_cents=t.amount_cents,
        tx_hash=receipt.tx_hash, block_number=receipt.block_number),
        actor=SETTLEMENT_ACTOR, occurred_at=at,
        event_id=derived_event_id(at, "TokensTransferred", t.settlement_id))
