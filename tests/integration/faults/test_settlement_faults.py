"""Faults while a delivery day settles in FlexTokens (issue 7's fault suite): the worker
is SIGKILLed between two of its transfers, or the chain stops between two of them and
comes back with its state.

The day: 40 PoDs of AGG-1, each awarded 10 kW "up" by DSO-1 in MTUs 40 and 41 at
100 €/MWh (25 cents an MTU) over a 20 kW baseline, each measuring 12 kW: 80 % delivered,
40 cents paid by DSO-1 to AGG-1 and half of it passed on to the PoD's customer under
mechanism MECH-1. One transfer per transaction, so that a fault lands between two.
Afterwards every transfer is on chain exactly once, the balances are exactly the day's,
the tokens in wallets are those funded, and the read models equal a fresh replay.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from access_layer.domain.events import LightNodeEnrolled, MeteringDayClosed
from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import encode_packet
from access_layer.ingest import send_packets
from ledger.catalog import new_event
from ledger.envelope import Event
from ledger.settings import Settings
from ledger.store.models import EventRow
from market.chain.tokens import TokenLedger
from market.domain.events import (
    FlexOfferSubmitted,
    OperatorFunded,
    PriceStep,
    SettlementMechanismCreated,
)
from market.store.models import DaySettlementRow, TokenTransferRow
from tests.builders import (
    make_baseline,
    make_pod_registered,
    make_validated_award,
    make_validated_outcome,
)
from tests.integration.anchoring_harness import anchoring_settings, running_chain
from tests.integration.faults.harness import (
    FAULT_TEST,
    Supervisor,
    assert_each_event_projected_once,
    assert_equals_fresh_replay,
    projected_to_log_end,
    read_model,
    stop_chain,
)
from tests.integration.projection_harness import publish

pytestmark = FAULT_TEST

DAY = date(2026, 11, 30)
SESSION = "DA-2026-11-30"
MTUS = {40: datetime(2026, 11, 30, 9, 0, tzinfo=UTC), 41: datetime(2026, 11, 30, 9, 15,
                                                                    tzinfo=UTC)}
PODS = [f"POD-{i:03d}" for i in range(40)]
FUNDED = 10_000
PAYMENT, REWARD = 40, 20  # cents a PoD: DSO-1 → AGG-1, then AGG-1 → the PoD's customer
TRANSFERS = 2 * len(PODS)


def _node(pod: str) -> LightNode:
    return LightNode.from_seed(f"settlement-faults-{pod}")


def _day_log() -> list[Event]:
    events = [new_event(SettlementMechanismCreated(
        mechanism_id="MECH-1", aggregator_id="AGG-1", revenue_share_pct=50,
        reward_cents_per_kwh=0, penalty_pass_through_pct=100), actor="AGG-1")]
    for pod in PODS:
        events += [new_event(payload, actor="AGG-1") for payload in (
            make_pod_registered(pod_id=pod, customer_id=f"CUST-{pod}",
                                settlement_mechanism_id="MECH-1"),
            LightNodeEnrolled(pod_id=pod, aggregator_id="AGG-1", node_address=_node(pod).address),
            make_baseline(DAY, pod_id=pod),
            FlexOfferSubmitted(
                offer_id=f"OFR-{pod}", session_id=SESSION, aggregator_id="AGG-1", pod_id=pod,
                quantity_type="P", direction="up",
                steps=tuple(PriceStep(mtu=m, quantity=10.0, price_eur_per_mwh=100.0)
                            for m in MTUS),
                player_service_id=f"AGG-1::{pod}::DA::2026-11-30"))]
    awards = tuple(make_validated_award(award_id=f"AW-{pod}-{m}", offer_id=f"OFR-{pod}",
                                        pod_id=pod, mtu=m) for pod in PODS for m in MTUS)
    return [*events,
            new_event(make_validated_outcome(awards, session_id=SESSION),
                      actor="flexmarket-market"),
            new_event(OperatorFunded(funding_id="F-1", operator_id="DSO-1",
                                     amount_cents=FUNDED), actor="DSO-1")]


def _packets() -> list[bytes]:
    return [encode_packet(_node(pod).reading_packet(pod, start, 12.0, 1.0, 3.0, 15))
            for pod in PODS for start in MTUS.values()]


def _paid_on_chain(settings: Settings) -> list[str]:
    """The settlement id of every ``Settled`` log of the token, one per transfer made."""
    tokens = TokenLedger.open(settings)
    return ["0x" + bytes(log["args"]["settlementId"]).hex()
            for log in tokens.token.events.Settled().get_logs(from_block=tokens.from_block)]


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0


def _day_under_way(settings: Settings, engine: Engine, workers: Supervisor) -> None:
    """Publish the day, let its packets be certified and DSO-1 funded, close its
    metering, and return once the first transfers are on chain."""
    log, packets = _day_log(), _packets()
    publish(settings, log)
    send_packets(settings, packets)
    tokens = TokenLedger.open(settings)
    # Each packet's answer is an event: a certified reading.
    workers.wait_until(lambda: tokens.balance("DSO-1") == FUNDED
                       and _count(engine, EventRow) == len(log) + len(packets),
                       what="packets certified and DSO-1 funded", timeout_s=90)
    publish(settings, [new_event(MeteringDayClosed(
        delivery_day=DAY, pods=len(PODS), certified=len(packets), missing=0, rejected=0),
        actor="flexmarket-scd")])
    workers.wait_until(lambda: len(_paid_on_chain(settings)) >= 3, what="the first transfers",
                       timeout_s=60, poll_s=0.02)


def _assert_paid_once(settings: Settings, engine: Engine, tmp: Path) -> None:
    """Every transfer on chain once and once in the read models; balances are the day's,
    and they add up to what was funded."""
    paid = _paid_on_chain(settings)
    assert len(paid) == len(set(paid)) == TRANSFERS, "a transfer was made twice, or not at all"
    with engine.connect() as conn:
        transfers = {r.settlement_id: r.amount_cents for r in conn.execute(
            select(TokenTransferRow))}
        runs = list(conn.execute(select(DaySettlementRow)))
    assert set(transfers) == set(paid)
    assert sum(transfers.values()) == len(PODS) * (PAYMENT + REWARD)
    assert [(r.transfers, r.outstanding_cents) for r in runs] == [(TRANSFERS, 0)]
    tokens = TokenLedger.open(settings)
    customers = [f"CUST-{pod}" for pod in PODS]
    balances = tokens.balances(["DSO-1", "AGG-1", *customers])
    assert balances == {"DSO-1": FUNDED - len(PODS) * PAYMENT,
                        "AGG-1": len(PODS) * (PAYMENT - REWARD),
                        **dict.fromkeys(customers, REWARD)}
    assert sum(balances.values()) == tokens.total_supply() == tokens.total_funded() == FUNDED
    assert_each_event_projected_once(settings, engine)
    assert_equals_fresh_replay(settings, engine, tmp)


def _all_paid_and_projected(settings: Settings, engine: Engine) -> bool:
    return (_count(engine, DaySettlementRow) >= 1 and _count(engine, TokenTransferRow)
            == TRANSFERS and projected_to_log_end(settings, engine))


def test_sigkill_between_two_transfers_pays_nobody_twice(stack: Settings,
                                                         tmp_path: Path) -> None:
    """The worker dies having paid part of the day on chain and announced none of it: its
    replacement reads the day's closing again, finds those transfers paid (the chain
    refuses their ids a second time), announces them from the chain's record and pays
    the rest."""
    settings = anchoring_settings(stack, tmp_path, settlement_transfers_per_transaction=1,
                                  processors="projector,certification,settlement")
    engine = read_model(settings.read_model_url)
    with running_chain(settings), Supervisor(settings, tmp_path) as workers:
        _day_under_way(settings, engine, workers)
        workers.kill()
        paid_at_kill = len(_paid_on_chain(settings))
        assert paid_at_kill < TRANSFERS, "the kill came after the day was paid"
        assert _count(engine, TokenTransferRow) == 0, "transfers were announced before the kill"

        workers.start()
        workers.wait_until(lambda: _all_paid_and_projected(settings, engine),
                           what="the day paid", timeout_s=90)
        assert workers.exits == []
        assert "transfers paid by an earlier run; announcing them" in workers.logs()
        _assert_paid_once(settings, engine, tmp_path)


def test_the_chain_stopped_between_two_transfers_and_restarted(stack: Settings,
                                                               tmp_path: Path) -> None:
    """anvil stops (SIGTERM, so it writes its state file) while the day is being paid,
    stays down two seconds and starts again from that file: the transfers made before
    the stop are still on chain, and the worker pays the rest, nobody twice.

    Observed: the worker does not exit; its settlement step fails, retries with back-off
    (``until_done``) and succeeds once the chain answers again.
    """
    settings = anchoring_settings(stack, tmp_path, settlement_transfers_per_transaction=1,
                                  processors="projector,certification,settlement")
    engine = read_model(settings.read_model_url)
    with running_chain(settings) as node, Supervisor(settings, tmp_path) as workers:
        _day_under_way(settings, engine, workers)
        paid_before_stop = len(_paid_on_chain(settings))
        stop_chain(node)
        time.sleep(2)
        node.start()
        assert len(_paid_on_chain(settings)) >= paid_before_stop, "the chain lost transfers"
        assert paid_before_stop < TRANSFERS, "the stop came after the day was paid"

        workers.wait_until(lambda: _all_paid_and_projected(settings, engine),
                           what="the day paid", timeout_s=120)
        assert workers.exits == []
        assert "step failed; retrying" in workers.logs(), "the outage went unnoticed"
        _assert_paid_once(settings, engine, tmp_path)
