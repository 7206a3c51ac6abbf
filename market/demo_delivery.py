"""The delivery side of ``make demo``: who delivers the day and how, and what it came to.

Operators fund their wallets and aggregators upload baselines before the day, and enrol
their customers' light nodes over REST; the nodes sign a reading every quarter-hour (every
fifth PoD delivers 60 % of its awards, the others 95 %; one node's packets are forged, one
goes silent for half an hour) and acknowledge their setpoints; the day's metering closes
and settlement pays everyone in FlexTokens on anvil. The clock that drives it all is
``market.demo_realtime``'s.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
import httpx
from sqlalchemy import func, select

from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import encode_packet
from access_layer.simulator import forged_packet
from access_layer.store.models import MeterReadingRow, MissingReadingRow, RejectedPacketRow
from ledger.store.queries import utc
from market.chain.tokens import TokenLedger
from market.demo_support import DemoDay, ok
from market.domain.calendar import Mtu, delivery_mtus
from market.domain.submissions import PodView
from market.store.models import (
    DaySettlementRow,
    FundingRow,
    PodSettlementRow,
    TokenTransferRow,
)

FUNDING_CENTS = 1_000_000
OPERATORS = ("DSO-ARETI", "TSO-TERNA")
SILENT_MTUS = (72, 73)  # 18:00–18:30, when one node goes silent
SHORT, FULL = 0.60, 0.95  # shares of the award delivered


@dataclass(frozen=True)
class DeliveryPlan:
    """The PoDs that deliver the day, with a light node and a baseline each.

    Attributes:
        pods: their ids, sorted: the PoDs awarded in day-ahead and those that will offer
            in real time (baselines must be in before the day starts, RT awards are not).
        aggregator_of: each PoD's aggregator.
        baseline_kw: each PoD's flat baseline (kW withdrawn in every MTU).
        nodes: each PoD's light node.
        delivers: the share of its awards each PoD delivers.
        forged: the PoD whose packets another key signs (refused as BAD_SIGNATURE).
        silent: the PoD whose node sends nothing in ``SILENT_MTUS``.
    """

    pods: tuple[str, ...]
    aggregator_of: dict[str, str]
    baseline_kw: dict[str, float]
    nodes: dict[str, LightNode]
    delivers: dict[str, float]
    forged: str | None
    silent: str | None


def plan_delivery(run: str, day_ahead_awarded: Sequence[str],
                  pods: Mapping[str, PodView]) -> DeliveryPlan:
    """Who delivers, with what baseline and node, and who misbehaves.

    Args:
        run: the demo run's id (seeds the nodes' keys).
        day_ahead_awarded: the PoDs the validated day-ahead outcome awarded, sorted; the
            forged and the silent node are two of them.
        pods: every PoD that delivers (``day_ahead_awarded`` among them), by id.
    """
    ids = tuple(sorted(pods))
    return DeliveryPlan(
        pods=ids, aggregator_of={p: pods[p].aggregator_id for p in ids},
        # Above any award (DA and RT together never pass the PoD's max flexibility).
        baseline_kw={p: max(2.0, round(1.5 * pods[p].up_p_kw, 1)) for p in ids},
        nodes={p: LightNode.from_seed(f"demo-{run}-{p}") for p in ids},
        delivers={p: SHORT if i % 5 == 4 else FULL for i, p in enumerate(ids)},
        forged=day_ahead_awarded[1] if len(day_ahead_awarded) > 1 else None,
        silent=day_ahead_awarded[2] if len(day_ahead_awarded) > 2 else None)


def fund_and_upload_baselines(client: httpx.Client, day: DemoDay, plan: DeliveryPlan) -> None:
    """Before the day: the operators pay in, the aggregators upload each PoD's baseline."""
    api = day.settings.api_base_url
    for operator in OPERATORS:
        ok(client.post(f"{api}/v1/fundings", headers=day.tokens[operator],
                       json={"funding_id": f"FUND-{day.run}-{operator}",
                             "operator_id": operator, "amount_cents": FUNDING_CENTS,
                             "reference": "demo bank transfer"}), "funding")
    mtus = delivery_mtus(day.day, day.zone)
    for pod in plan.pods:
        aggregator = plan.aggregator_of[pod]
        baseline = {"aggregator_id": aggregator,
                    "slots": [{"mtu": m.index, "p_kw": plan.baseline_kw[pod], "q_kvar": 0.0}
                              for m in mtus]}
        ok(client.put(f"{api}/v1/scd/pods/{pod}/baselines/{day.day.isoformat()}",
                      headers=day.tokens[aggregator], json=baseline), "baseline")


def enrol_light_nodes(client: httpx.Client, day: DemoDay, plan: DeliveryPlan) -> None:
    """Each aggregator enrols its customers' light nodes (readings count from now on)."""
    for pod in plan.pods:
        aggregator = plan.aggregator_of[pod]
        ok(client.put(f"{day.settings.api_base_url}/v1/scd/pods/{pod}/light-node",
                      headers=day.tokens[aggregator],
                      json={"aggregator_id": aggregator,
                            "node_address": plan.nodes[pod].address}), "enrolment")


def window_packets(plan: DeliveryPlan, mtus: Iterable[Mtu],
                   activations: Iterable[Any]) -> list[bytes]:
    """The signed readings of every planned PoD in ``mtus``: its baseline less the share
    it delivers of what the validated outcomes activated (``validated_activations`` rows:
    pod, MTU, direction, quantity type, quantity; "up" lowers withdrawal)."""
    net: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for a in activations:
        sign = 1.0 if a.direction == "up" else -1.0
        net[(a.pod_id, a.mtu)][0 if a.quantity_type == "P" else 1] += sign * a.quantity
    packets = []
    for mtu in mtus:
        for pod in plan.pods:
            if pod == plan.silent and mtu.index in SILENT_MTUS:
                continue
            up_p, up_q = net.get((pod, mtu.index), (0.0, 0.0))
            p_kw = round(plan.baseline_kw[pod] - plan.delivers[pod] * up_p, 3)
            q_kvar = round(-plan.delivers[pod] * up_q, 3)
            node = plan.nodes[pod]
            packet = node.reading_packet(pod, mtu.start, p_kw, q_kvar, round(p_kw / 4, 4), 900)
            if pod == plan.forged:
                packet = forged_packet(packet.data, node, LightNode.from_seed("forger"))
            packets.append(encode_packet(packet))
    return packets


def acknowledgements(plan: DeliveryPlan, relayed: Iterable[Any]) -> list[bytes]:
    """Each light node acknowledges its relayed setpoint (``SetpointRow``s): sent by the
    DSO, received by the node a second later, by the customer's device a second after
    that (Platone Table 19)."""
    packets = []
    for row in relayed:
        node = plan.nodes.get(row.pod_id)
        if node is None:
            continue
        sent = utc(row.relayed_at)
        slots = [(s["mtu"], s["p_kw"], s["q_kvar"]) for s in row.slots]
        packets.append(encode_packet(node.acknowledge(
            row.pod_id, row.activation_id, slots, sent, sent + timedelta(seconds=1),
            sent + timedelta(seconds=2))))
    return packets


def print_delivery(day: DemoDay, plan: DeliveryPlan) -> None:
    """Stage 8: the day's readings, settlement, transfers and wallets."""
    click.secho(f"8. metering and settlement of {day.day}", bold=True)
    mtus = delivery_mtus(day.day, day.zone)
    start, end = mtus[0].start, mtus[-1].end
    with day.engine.connect() as conn:
        rejected = Counter(conn.scalars(select(RejectedPacketRow.code).where(
            RejectedPacketRow.interval_start >= start, RejectedPacketRow.interval_start < end)))
        certified, missing = (conn.scalar(select(func.count()).select_from(model).where(
            model.interval_start >= start, model.interval_start < end)) or 0
            for model in (MeterReadingRow, MissingReadingRow))
        settled = conn.execute(select(PodSettlementRow).where(
            PodSettlementRow.delivery_day == day.day)).all()
        transfers = conn.execute(select(TokenTransferRow).where(
            TokenTransferRow.delivery_day == day.day)).all()
        runs = conn.execute(select(DaySettlementRow).where(
            DaySettlementRow.delivery_day == day.day)).all()
        funded = conn.scalar(select(func.sum(FundingRow.amount_cents))) or 0
    click.echo(f"   readings of {len(plan.pods)} PoDs' light nodes: "
               f"{certified:,} certified, {sum(rejected.values())} rejected "
               f"({', '.join(f'{n} {c}' for c, n in rejected.items()) or 'none'}: the forged "
               f"node of {plan.forged}), {missing} published as missing ({plan.silent} "
               "silent 18:00–18:30, and the forged node's quarter-hours)")
    penalised = [r.pod_id for r in settled if r.penalised]
    click.echo(f"   PodSettled: {len(settled)} PoDs, {len(penalised)} penalised outside ±30 % "
               f"(e.g. {', '.join(penalised[:4])}{' …' if len(penalised) > 4 else ''})")
    by_kind: dict[str, list[int]] = defaultdict(list)
    for t in transfers:
        by_kind[t.kind].append(t.amount_cents)
    for kind, amounts in sorted(by_kind.items()):
        click.echo(f"   TokensTransferred {kind:<16} {len(amounts):>4} transfers "
                   f"{sum(amounts) / 100:>10.2f} €")
    outstanding = sum(r.outstanding_cents for r in runs[-1:])
    if outstanding:
        click.echo(f"   outstanding (payers short of tokens): {outstanding / 100:.2f} €")
    _print_wallets(day, plan, settled, funded)


def _print_wallets(day: DemoDay, plan: DeliveryPlan, settled: Sequence[Any],
                   funded: int) -> None:
    tokens = TokenLedger.open(day.settings)
    aggregators = sorted(set(plan.aggregator_of.values()))
    customers = sorted({r.customer_id for r in settled})
    balances = tokens.balances([*OPERATORS, *aggregators, *customers])
    click.echo("   wallets on anvil (FlexToken, 1 token = 1 cent):")
    for party in [*OPERATORS, *aggregators]:
        click.echo(f"     {party:<12} {balances[party] / 100:>12,.2f} €")
    click.echo(f"     {len(customers)} customers "
               f"{sum(balances[c] for c in customers) / 100:>9,.2f} € in all")
    held = sum(balances.values())
    verdict = "conserved" if held == funded else "NOT CONSERVED"
    click.echo(f"   wallets hold {held / 100:,.2f} € of {funded / 100:,.2f} € funded: tokens "
               f"{verdict}; on the whole contract, supply {tokens.total_supply() / 100:,.2f} € "
               f"= funded {tokens.total_funded() / 100:,.2f} €")
