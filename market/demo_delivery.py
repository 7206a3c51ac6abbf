"""The delivery part of ``make demo``: the day the day-ahead session delivers, on a faster
simulated clock. Operators fund their wallets, aggregators upload baselines and enrol
their customers' light nodes over REST, the nodes sign a reading every quarter-hour (some
PoDs deliver less than awarded, one node's packets are forged, one goes silent for half an
hour), setpoints go out 15 minutes before their window and are acknowledged, the day's
metering closes, and settlement pays everyone in FlexTokens on anvil.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import httpx
from sqlalchemy import Engine, func, select

from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import encode_packet
from access_layer.ingest import send_packets
from access_layer.simulator import forged_packet
from access_layer.store.models import MissingReadingRow, RejectedPacketRow
from ledger.settings import Settings
from ledger.store.models import EventRow
from ledger.store.queries import utc
from ledger.worker_process import WorkerProcess
from market.chain.tokens import TokenLedger
from market.domain.calendar import delivery_mtus
from market.kpi_report import end_of_day_report
from market.store.models import (
    DaySettlementRow,
    FundingRow,
    PodSettlementRow,
    TokenTransferRow,
)
from market.store.queries import latest_outcome

# The delivery day runs faster than the session: from 15:40, before the evening window's
# setpoints go out, to past midnight in about half a minute.
SPEED = 960.0
STARTS_AT = time(15, 40)
FUNDING_CENTS = 1_000_000
OPERATORS = ("DSO-ARETI", "TSO-TERNA")


def prepare_delivery(settings: Settings, engine: Engine, session_id: str, day: date,
                     run: str, tokens: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Before the day: fund the operators, upload baselines, enrol light nodes, and have
    the nodes send the day's signed readings, each write over REST with its
    participant's token. Returns what the summary needs."""
    zone = ZoneInfo(settings.time_zone)
    with engine.connect() as conn:
        outcome = latest_outcome(conn, session_id, "validated")
    awarded: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    aggregator_of: dict[str, str] = {}
    for award in (outcome.payload["awards"] if outcome else []):
        if award["quantity"] > 0:
            awarded[award["pod_id"]][award["mtu"]] += award["quantity"]
            aggregator_of[award["pod_id"]] = award["aggregator_id"]
    pods = sorted(awarded)
    if not pods:
        raise click.ClickException("the validated outcome has no awards to deliver")
    api = settings.api_base_url
    nodes = {pod: LightNode.from_seed(f"demo-{run}-{pod}") for pod in pods}
    baselines = {pod: round(max(2.0, 1.5 * max(awarded[pod].values())), 1) for pod in pods}
    mtus = delivery_mtus(day, zone)
    with httpx.Client(timeout=30) as client:
        for operator in OPERATORS:
            _ok(client.post(f"{api}/v1/fundings", headers=tokens[operator],
                            json={"funding_id": f"FUND-{run}-{operator}",
                                  "operator_id": operator, "amount_cents": FUNDING_CENTS,
                                  "reference": "demo bank transfer"}), "funding")
        for pod in pods:
            aggregator = aggregator_of[pod]
            baseline = {"aggregator_id": aggregator,
                        "slots": [{"mtu": m.index, "p_kw": baselines[pod], "q_kvar": 0.0}
                                  for m in mtus]}
            _ok(client.put(f"{api}/v1/scd/pods/{pod}/baselines/{day.isoformat()}",
                           headers=tokens[aggregator], json=baseline), "baseline")
            node = {"aggregator_id": aggregator, "node_address": nodes[pod].address}
            _ok(client.put(f"{api}/v1/scd/pods/{pod}/light-node", headers=tokens[aggregator],
                           json=node), "enrolment")
    # Every fifth PoD delivers 60 % of its award (penalised), the others 95 %; the second
    # PoD's packets are signed by another key; the third's node is silent 18:00–18:30.
    shortfall = {pod: 0.60 if i % 5 == 4 else 0.95 for i, pod in enumerate(pods)}
    forged = pods[1] if len(pods) > 1 else None
    silent = pods[2] if len(pods) > 2 else None
    packets = []
    for pod in pods:
        for mtu in mtus:
            if pod == silent and mtu.index in (72, 73):
                continue
            p_kw = baselines[pod] - shortfall[pod] * awarded[pod].get(mtu.index, 0.0)
            packet = nodes[pod].reading_packet(pod, mtu.start, round(p_kw, 3), 0.0,
                                               round(p_kw / 4, 4), 900)
            if pod == forged:
                packet = forged_packet(packet.data, nodes[pod], LightNode.from_seed("forger"))
            packets.append(encode_packet(packet))
    send_packets(settings, packets)
    click.echo(f"   funded {', '.join(OPERATORS)} ({FUNDING_CENTS / 100:,.0f} € each); "
               f"{len(pods)} awarded PoDs got baselines and light nodes; {len(packets):,} "
               f"signed readings sent (one node forged: {forged}; {silent} silent 18:00–18:30; "
               f"{sum(1 for s in shortfall.values() if s < 0.7)} PoDs deliver 60 %)")
    return {"pods": pods, "nodes": nodes, "aggregators": sorted(set(aggregator_of.values())),
            "packets": len(packets), "forged": forged}


def delivery_clock(settings: Settings, day: date) -> Settings:
    """The settings of the delivery day's processes: a simulated clock from 15:40."""
    zone = ZoneInfo(settings.time_zone)
    start = datetime.combine(day, STARTS_AT, tzinfo=zone).astimezone(UTC)
    return settings.model_copy(update={"clock_start": start, "clock_speed": SPEED,
                                       "clock_anchor": datetime.now(UTC)})


def run_delivery(settings: Settings, engine: Engine, day: date, prepared: dict[str, Any],
                 wait: Any) -> None:
    """Deliver the day with a worker and API on the delivery clock, then print it."""
    click.secho(f"7. delivery day {day} on a simulated clock from {STARTS_AT:%H:%M} "
                f"({SPEED:g}x): setpoints, light nodes, metering, settlement", bold=True)
    logs = settings.var_dir / "log"
    with WorkerProcess(settings, logs / "demo-delivery-worker.log") as worker:
        wait(worker, lambda: _count(engine, "SetpointIssued") > 0 and _count(
            engine, "SetpointIssued") == _count(engine, "SetpointRelayed") + _count(
            engine, "SetpointRefused"), "setpoints issued and relayed (15 minutes before "
             "their window)", 120)
        acknowledged = _acknowledge(settings, engine, prepared["nodes"])
        wait(worker, lambda: _count(engine, "SetpointAcknowledged") >= acknowledged,
             "setpoint acknowledgements", 60)
        click.echo(f"   setpoints: {_count(engine, 'SetpointIssued')} issued by the "
                   f"aggregators, {_count(engine, 'SetpointRelayed')} relayed by the DSO "
                   f"({_count(engine, 'SetpointRefused')} refused), "
                   f"{_count(engine, 'SetpointAcknowledged')} acknowledged by light nodes "
                   "with three times each")
        click.echo("   waiting for the day to end, its metering to close and settlement …")
        wait(worker, lambda: _day_settled(engine, day), "the day settled and paid", 240)
    _print_delivery(settings, engine, day, prepared)


def _acknowledge(settings: Settings, engine: Engine, nodes: dict[str, LightNode]) -> int:
    """Each light node acknowledges its setpoint: sent by the DSO, received by the node a
    second later, by the customer's device a second after that (Platone Table 19)."""
    with engine.connect() as conn:
        relayed = conn.execute(select(EventRow).where(EventRow.type == "SetpointRelayed")).all()
    packets = []
    for r in relayed:
        node = nodes.get(r.payload["pod_id"])
        if node is None:
            continue
        sent = utc(r.occurred_at)
        slots = [(s["mtu"], s["p_kw"], s["q_kvar"]) for s in r.payload["slots"]]
        packets.append(encode_packet(node.acknowledge(
            r.payload["pod_id"], r.payload["activation_id"], slots, sent,
            sent + timedelta(seconds=1), sent + timedelta(seconds=2))))
    return send_packets(settings, packets)


def _print_delivery(settings: Settings, engine: Engine, day: date,
                    prepared: dict[str, Any]) -> None:
    zone = ZoneInfo(settings.time_zone)
    start, end = delivery_mtus(day, zone)[0].start, delivery_mtus(day, zone)[-1].end
    with engine.connect() as conn:
        rejected = Counter(conn.scalars(select(RejectedPacketRow.code).where(
            RejectedPacketRow.interval_start >= start, RejectedPacketRow.interval_start < end)))
        missing = conn.scalar(select(func.count()).select_from(MissingReadingRow).where(
            MissingReadingRow.interval_start >= start,
            MissingReadingRow.interval_start < end,
            MissingReadingRow.pod_id.in_(prepared["pods"]))) or 0
        settled = conn.execute(select(PodSettlementRow).where(
            PodSettlementRow.delivery_day == day)).all()
        transfers = conn.execute(select(TokenTransferRow).where(
            TokenTransferRow.delivery_day == day)).all()
        runs = conn.execute(select(DaySettlementRow).where(
            DaySettlementRow.delivery_day == day)).all()
        kpis = end_of_day_report(conn, settings, day)
    certified = prepared["packets"] - sum(rejected.values())
    click.echo(f"   readings of the awarded PoDs: {certified:,} certified, "
               f"{sum(rejected.values())} rejected "
               f"({', '.join(f'{n} {c}' for c, n in rejected.items()) or 'none'}), "
               f"{missing} published as missing")
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
    tokens = TokenLedger.open(settings)
    parties = [*OPERATORS, *prepared["aggregators"],
               *sorted({r.customer_id for r in settled})]
    balances = tokens.balances(parties)
    click.echo("   wallets on anvil (FlexToken, 1 token = 1 cent):")
    for party in [*OPERATORS, *prepared["aggregators"]]:
        click.echo(f"     {party:<12} {balances[party] / 100:>12,.2f} €")
    customers = sum(balances[c] for c in parties[len(OPERATORS) + len(prepared["aggregators"]):])
    click.echo(f"     {len(parties) - len(OPERATORS) - len(prepared['aggregators'])} customers "
               f"{customers / 100:>9,.2f} € in all")
    with engine.connect() as conn:
        funded_here = conn.scalar(select(func.sum(FundingRow.amount_cents))) or 0
    held = sum(balances.values())
    verdict = "conserved" if held == funded_here else "NOT CONSERVED"
    click.echo(f"   wallets hold {held / 100:,.2f} € of {funded_here / 100:,.2f} € funded: tokens "
               f"{verdict}; on the whole contract, supply {tokens.total_supply() / 100:,.2f} € "
               f"= funded {tokens.total_funded() / 100:,.2f} €")
    click.echo("   end-of-day KPIs (Platone Annex C; `flexmarket kpis` prints them too):")
    for line in kpis:
        if line.kpi in ("KPI_IT_02", "KPI_IT_03"):
            continue  # forecast reliability needs weeks of readings; this demo has one day
        value = "n/a" if line.value_pct is None else f"{line.value_pct:.1f} %"
        click.echo(f"     {line.kpi} {line.scope:<18} {value:>9}  (target "
                   f"{'≥' if line.sense == 'at_least' else '≤'} {line.target_pct:g} %)")


def _ok(answer: httpx.Response, what: str) -> None:
    if answer.status_code not in (200, 201):
        raise click.ClickException(f"{what} refused ({answer.status_code}): {answer.text}")


def _count(engine: Engine, event_type: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(EventRow).where(
            EventRow.type == event_type)) or 0


def _day_settled(engine: Engine, day: date) -> bool:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(DaySettlementRow).where(
            DaySettlementRow.delivery_day == day)) or 0) > 0
