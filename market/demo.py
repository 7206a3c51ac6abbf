"""The market part of ``make demo``: one market day on simulated clocks. Its day-ahead
session runs here, from requests and offers over REST to the validated outcome on each
participant's topic; the delivery day, with its six real-time sessions, in
``market.demo_realtime``.

It runs on topics, a consumer group and a read-model file of its own, so it can be run
again and again: the sessions topic of a deployment holds one timeline, and a simulated
one must not mix with the real one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import httpx
from sqlalchemy import Engine, create_engine, select

from ledger.envelope import Event
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import EventRow, PodRow
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess, api_answers, free_port
from market.clock import build_clock
from market.demo_delivery import DeliveryPlan, print_delivery
from market.demo_offers import offer_bodies, offer_key, offering, post_offers
from market.demo_realtime import run_delivery_day
from market.demo_support import (
    PARTICIPANTS,
    ClockBar,
    DemoDay,
    all_consumed,
    new_run,
    outcome,
    post,
    row_count,
    sign_in,
    wait_or_fail,
)
from market.demo_tso import TSO_ID, TsoSimulator, pom_of
from market.domain.calendar import SessionKind, day_sessions
from market.domain.clock import SimulatedClock
from market.store.queries import active_pods, list_requests

# Simulated seconds per real second: the 4-hour collection window passes in a minute.
SPEED = 240.0
# The simulated clock starts this long before the gate opens, so the worker is up when it
# does and the DSO platform sees the session open (about 8 real seconds).
BEFORE_OPEN = timedelta(minutes=30)
# Where the bar of simulated time ends: about when the market outcome is in.
AFTER_GATE = timedelta(minutes=15)


def run_market_day(base: Settings,
                   registrations: list[Event]) -> tuple[DemoDay, DeliveryPlan]:
    """Run tomorrow's market: its day-ahead session, then the delivery day with its
    real-time sessions, metering and settlement; print what happened.

    Returns:
        The demo's deployment and day, and who delivered it how, for the stages after
        (audit, summary).
    """
    day = _demo_day(base)
    run_day_ahead(day, registrations)
    plan = run_delivery_day(day)
    print_delivery(day, plan)
    return day, plan


def _demo_day(base: Settings) -> DemoDay:
    """The demo's own deployment, on the day-ahead session's clock."""
    zone = ZoneInfo(base.time_zone)
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    session = next(s for s in day_sessions(tomorrow, zone) if s.kind is SessionKind.DAY_AHEAD)
    run = new_run()
    url = f"sqlite:///{base.var_dir / 'demo' / f'market-{run}.db'}"
    (base.var_dir / "demo").mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(update={
        "topic_prefix": f"demo-{run}.", "app_id": f"demo-{run}", "database_url": url,
        "api_port": free_port(), "clock": "simulated", "clock_speed": SPEED,
        "clock_start": session.opens_at - BEFORE_OPEN, "clock_anchor": datetime.now(UTC)})
    ensure_topics(settings)
    upgrade(url)
    return DemoDay(settings=settings, engine=create_engine(url), day=tomorrow, run=run,
                   tokens={})


def run_day_ahead(day: DemoDay, registrations: list[Event]) -> None:
    """Stage 6: the day-ahead session, from the DSO's forecast to the validated outcome."""
    settings, engine, session = day.settings, day.engine, day.day_ahead
    zone = day.zone
    click.secho(f"6. a market session on a simulated clock: {session.session_id} "
                f"(gate closes {session.gate_closes_at.astimezone(zone):%Y-%m-%d %H:%M} "
                f"Rome; time runs {SPEED:g}x)", bold=True)
    logs = settings.var_dir / "log"
    with WorkerProcess(settings, logs / "demo-market-worker.log") as worker, \
            WorkerProcess(settings, logs / "demo-market-api.log", command=("serve",)) as api:
        with EventProducer(settings) as producer:
            producer.publish_all(registrations)
        wait_or_fail(worker, lambda: row_count(engine, PodRow) > 0, "the PoDs projected", 60)
        wait_or_fail(api, lambda: api_answers(settings), "the API", 30)
        day.tokens = sign_in(settings, engine)
        click.echo(f"   waiting for the gate to open ({session.opens_at.astimezone(zone):%H:%M} "
                   "Rome) and the DSO platform's forecast power flows …")
        wait_or_fail(worker, lambda: _dso_requests(engine, settings, session.session_id) > 0,
                     "the DSO's requests", 120)
        _print_dso_requests(engine, settings, session.session_id)
        posted = _post_requests_and_offers(day)
        click.echo(f"   posted over REST: {posted['requests']} TSO request, "
                   f"{posted['offers']} offers; {posted['refused']} late or bad ones refused")
        click.echo("   waiting for gate closure, clearing (NSGA-II) and its outcome …")
        clock = build_clock(settings)
        assert isinstance(clock, SimulatedClock)  # the demo's settings say simulated
        with ClockBar(clock, session.gate_closes_at + AFTER_GATE, zone) as bar:
            wait_or_fail(worker, bar.watching(lambda: outcome(
                engine, session.session_id, "market") is not None), "the market outcome", 240)
        market = outcome(engine, session.session_id, "market")
        assert market is not None  # just waited for
        _print_market_outcome(market.payload)
        click.echo("   waiting for the DSO platform's power flows and the validated outcome …")
        wait_or_fail(worker, lambda: outcome(engine, session.session_id,
                                             "validated") is not None,
                     "the validated outcome", 120)
        technical = outcome(engine, session.session_id, "technical")
        assert technical is not None  # the validated outcome is built from it
        _print_technical_outcome(technical.payload)
        _print_results(settings, session.session_id, day.tokens)
        wait_or_fail(worker, lambda: all_consumed(settings), "the worker's offsets committed",
                     60)


def _dso_requests(engine: Engine, settings: Settings, session_id: str) -> int:
    with engine.connect() as conn:
        return len(list_requests(conn, session_id=session_id, requester_id=settings.dso_id)[1])


def _print_dso_requests(engine: Engine, settings: Settings, session_id: str) -> None:
    with engine.connect() as conn:
        alerts = conn.execute(select(EventRow).where(
            EventRow.type == "GridAlertRaised", EventRow.key == session_id)).all()
        _, requests = list_requests(conn, session_id=session_id, requester_id=settings.dso_id)
    click.echo(f"   the DSO's forecast ({settings.dso_grid}, an AC power flow per MTU) raised "
               f"{len(alerts)} alert{'' if len(alerts) == 1 else 's'}:")
    for a in alerts[:4]:
        p = a.payload
        unit = "pu" if p["kind"].endswith("voltage") else "%"
        click.echo(f"     {p['issue_type']}: {p['kind'].replace('_', ' ')} at {p['asset']} "
                   f"({p['grid_point']}), worst {p['worst_value']:.4g} {unit} in "
                   f"{len(p['mtus'])} MTUs")
    for r in requests:
        peak = max(q["quantity"] for q in r.quantities)
        click.echo(f"   DSO request at {r.location_kind} {r.location_id}: {r.service}, "
                   f"{r.direction} {r.quantity_type}, up to {peak:g} in {len(r.quantities)} "
                   f"MTUs from {len(r.eligible_pods)} eligible PoDs")


def _post_requests_and_offers(day: DemoDay) -> dict[str, int]:
    """The TSO's request and every aggregator's offer over REST; then a retry of an offer
    (same Idempotency-Key), answered from its key, and an offer in another aggregator's
    name, refused."""
    slot = day.day_ahead
    with day.engine.connect() as conn:
        pods = offering(active_pods(conn))
    counts = {"requests": 0, "offers": 0, "refused": 0}
    with httpx.Client(timeout=30) as client:
        tso = TsoSimulator(pom_of(pods))
        counts["requests"] += len(tso.post(client, day.settings, slot,
                                           day.tokens[TSO_ID], counts))
        offers = offer_bodies(pods, slot)
        counts["offers"] += post_offers(client, day.settings, slot, offers, day.tokens, counts)
        url = f"{day.settings.api_base_url}/v1/sessions/{slot.session_id}/offers"
        last = offers[-1]
        own = day.tokens[last["aggregator_id"]]
        post(client, url, last, counts, own, key=offer_key(slot, last["pod_id"]))
        post(client, url, {**last, "aggregator_id": "AGG-NOT-THE-OWNER"}, counts, own)
    return counts


def _print_market_outcome(market: dict[str, Any]) -> None:
    stats = market["statistics"]
    click.echo(f"   MarketCleared by {market['engine']} {market['engine_version']} "
               f"(seed {market['seed']}, {market['pricing']}) in "
               f"{float(stats.get('seconds', 0)):.2f} s: {len(market['awards'])} awards, "
               f"{len(market['pareto_front'])} Pareto points")
    served: dict[str, float] = defaultdict(float)
    for award in market["awards"]:
        served[award["requester_id"]] += award["quantity"]
    objectives = market["objectives"]
    for requester, kw in sorted(served.items()):
        click.echo(f"     {requester:<10} served {kw:>8.1f} kW·MTU")
    click.echo(f"     cost {objectives['cost_eur']:.2f} €, unserved "
               f"{objectives['unserved']:.1f} kW·MTU (DSO {objectives['unserved_dso']:.1f}), "
               f"risk {objectives['risk']:.2f}")


def _print_technical_outcome(technical: dict[str, Any]) -> None:
    stats = technical["statistics"]
    click.echo(f"   TechnicalValidationCompleted on {technical['grid']}: "
               f"{stats['power_flows']} AC power flows in {float(stats['seconds']):.2f} s; "
               f"{stats['accepted']} awards accepted, {stats['partially_accepted']} cut, "
               f"{stats['rejected']} rejected; {stats['violations_without_awards']} violations "
               f"in the forecast without awards, {stats['violations_caused']} caused by awards"
               + (f"; power flow did not converge in MTUs {technical['non_converged_mtus']}"
                  if technical["non_converged_mtus"] else ""))
    for verdict in technical["verdicts"]:
        if verdict["status"] != "accepted":
            click.echo(f"     {verdict['award_id']} {verdict['status']}: {verdict['reason']}")
            break


def _print_results(settings: Settings, session_id: str,
                   tokens: dict[str, dict[str, str]]) -> None:
    click.echo("   validated outcome published; each participant's share "
               "(results.<participant> topics, GET …/results/{participant}):")
    with httpx.Client(timeout=30) as client:
        for participant in PARTICIPANTS:
            answer = client.get(f"{settings.api_base_url}/v1/sessions/{session_id}/results/"
                                f"{participant}", headers=tokens[participant])
            if answer.status_code != 200:
                raise click.ClickException(f"results of {participant}: {answer.text}")
            results = answer.json()
            kw = sum(a["quantity"] for a in results["awards"])
            click.echo(f"     {participant:<11} {len(results['awards']):>4} awards "
                       f"{kw:>8.1f} kW·MTU  {results['total_value_cents'] / 100:>9.2f} €")
