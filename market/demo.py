"""The market part of ``make demo``: one day-ahead session on a simulated clock, from
requests and offers over REST to the validated outcome on each participant's topic, then
the day it delivers (``market.demo_delivery``).

It runs on topics, a consumer group and a read-model file of its own, so it can be run
again and again: the sessions topic of a deployment holds one timeline, and a simulated
one must not mix with the real one.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import httpx
from sqlalchemy import Engine, create_engine, func, select

from ledger.auth.client import request_token
from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.envelope import Event
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import EventRow, PodRow
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess, WorkerWaitFailed, free_port
from market.demo_delivery import delivery_clock, prepare_delivery, run_delivery
from market.domain.calendar import SessionKind, day_sessions
from market.store.queries import latest_outcome, list_requests

# Simulated seconds per real second: the 4-hour collection window passes in a minute.
SPEED = 240.0
# The simulated clock starts this long before the gate opens, so the worker is up when it
# does and the DSO platform sees the session open (about 8 real seconds).
BEFORE_OPEN = timedelta(minutes=30)
# The aggregators are ledger.demo's, which registers their PoDs.
PARTICIPANTS = {"DSO-ARETI": Role.DSO, "TSO-TERNA": Role.TSO, "AGG-ROMA-1": Role.AGGREGATOR,
                "AGG-ROMA-2": Role.AGGREGATOR, "AGG-ROMA-3": Role.AGGREGATOR}
EVENING = range(72, 80)  # 18:00–20:00, the evening peak where feeders congest


def run_market_session(base: Settings, registrations: list[Event]) -> None:
    """Run tomorrow's day-ahead session on a simulated clock and print what happened."""
    zone = ZoneInfo(base.time_zone)
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    session = next(s for s in day_sessions(tomorrow, zone) if s.kind is SessionKind.DAY_AHEAD)
    run = uuid.uuid4().hex[:8]
    url = f"sqlite:///{base.var_dir / 'demo' / f'market-{run}.db'}"
    (base.var_dir / "demo").mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(update={
        "topic_prefix": f"demo-{run}.", "app_id": f"demo-{run}", "database_url": url,
        "api_port": free_port(), "clock": "simulated", "clock_speed": SPEED,
        "clock_start": session.opens_at - BEFORE_OPEN,
        "clock_anchor": datetime.now(UTC)})
    click.secho(f"6. a market session on a simulated clock: {session.session_id} "
                f"(gate closes {session.gate_closes_at.astimezone(zone):%Y-%m-%d %H:%M} "
                f"Rome; time runs {SPEED:g}x)", bold=True)
    ensure_topics(settings)
    upgrade(url)
    engine = create_engine(url)
    logs = settings.var_dir / "log"
    with WorkerProcess(settings, logs / "demo-market-worker.log") as worker, \
            WorkerProcess(settings, logs / "demo-market-api.log", command=("serve",)) as api:
        with EventProducer(settings) as producer:
            producer.publish_all(registrations)
        wait_or_fail(worker, lambda: _count(engine, PodRow) > 0, "the PoDs projected", 60)
        wait_or_fail(api, _api_up(settings), "the API", 30)
        tokens = sign_in(settings, engine)
        click.echo(f"   waiting for the gate to open ({session.opens_at.astimezone(zone):%H:%M} "
                   "Rome) and the DSO platform's forecast power flows …")
        wait_or_fail(worker, lambda: _dso_requests(engine, settings, session.session_id) > 0,
                     "the DSO's requests", 120)
        _print_dso_requests(engine, settings, session.session_id)
        posted = _post_requests_and_offers(settings, engine, session.session_id, tokens)
        click.echo(f"   posted over REST: {posted['requests']} TSO request, "
                   f"{posted['offers']} offers; {posted['refused']} late or bad ones refused")
        click.echo("   waiting for gate closure, clearing (NSGA-II) and its outcome …")
        wait_or_fail(worker, lambda: _outcome(engine, session.session_id, "market") is not None,
              "the market outcome", 240)
        market = _outcome(engine, session.session_id, "market")
        assert market is not None  # just waited for
        _print_market_outcome(market.payload)
        click.echo("   waiting for the DSO platform's power flows and the validated outcome …")
        wait_or_fail(worker, lambda: _outcome(engine, session.session_id, "validated") is not None,
              "the validated outcome", 120)
        technical = _outcome(engine, session.session_id, "technical")
        assert technical is not None  # the validated outcome is built from it
        _print_technical_outcome(technical.payload)
        _print_results(settings, session.session_id, tokens)
        prepared = prepare_delivery(settings, engine, session.session_id, tomorrow, run,
                                    tokens)
    run_delivery(delivery_clock(settings, tomorrow), engine, tomorrow, prepared, wait_or_fail)
    engine.dispose()


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


def sign_in(settings: Settings, engine: Engine) -> dict[str, dict[str, str]]:
    """Register the demo's participants (as `flexmarket participants add` does) and get
    each a bearer token from the token endpoint: the Authorization header per id."""
    with engine.begin() as conn:
        secrets = {pid: register_participant(conn, pid, role, now=datetime.now(UTC))
                   for pid, role in PARTICIPANTS.items()}
    try:
        headers = {pid: {"Authorization": "Bearer " + request_token(
            settings.api_base_url, pid, secret)} for pid, secret in secrets.items()}
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"   {len(headers)} participants registered, each signed in with a bearer "
               f"token: {', '.join(f'{p} ({r})' for p, r in PARTICIPANTS.items())}")
    return headers


def _post_requests_and_offers(settings: Settings, engine: Engine, session_id: str,
                              tokens: dict[str, dict[str, str]]) -> dict[str, int]:
    rng = random.Random(4)
    with engine.connect() as conn:
        pods = conn.execute(select(PodRow).where(PodRow.active, PodRow.up_p_kw > 0)
                            .order_by(PodRow.pod_id)).all()
    counts = {"requests": 0, "offers": 0, "refused": 0}
    base = f"{settings.api_base_url}/v1/sessions/{session_id}"
    with httpx.Client(timeout=30) as client:
        tso = {"requester_id": "TSO-TERNA", "role": "TSO", "market_type": "DA",
               "service": "congestion", "quantity_type": "P", "direction": "up",
               "location": {"kind": "pom", "id": pods[0].primary_substation},
               "quantities": [{"mtu": m, "quantity": 150.0} for m in EVENING]}
        counts["requests"] += _post(client, f"{base}/requests", tso, counts,
                                    tokens["TSO-TERNA"])
        for pod in pods:
            steps = [{"mtu": m, "quantity": round(pod.up_p_kw * share, 2),
                      "price_eur_per_mwh": round(price * rng.uniform(0.8, 1.25), 1)}
                     for m in EVENING for share, price in ((0.5, 90.0), (0.5, 180.0))]
            offer = {"aggregator_id": pod.aggregator_id, "pod_id": pod.pod_id,
                     "market_type": "DA", "quantity_type": "P", "direction": "up",
                     "divisible": rng.random() > 0.2, "steps": steps}
            counts["offers"] += _post(client, f"{base}/offers", offer, counts,
                                      tokens[pod.aggregator_id], key=f"demo-{pod.pod_id}")
        # A retry of the same offer (same Idempotency-Key) and an offer in another
        # aggregator's name: the first is answered from its key, the second refused.
        own = tokens[offer["aggregator_id"]]
        _post(client, f"{base}/offers", offer, counts, own, key=f"demo-{pods[-1].pod_id}")
        stranger = {**offer, "aggregator_id": "AGG-NOT-THE-OWNER"}
        _post(client, f"{base}/offers", stranger, counts, own)
    return counts


def _post(client: httpx.Client, url: str, body: dict[str, Any], counts: dict[str, int],
          token: dict[str, str], key: str | None = None) -> int:
    answer = client.post(url, json=body,
                         headers={**token, **({"Idempotency-Key": key} if key else {})})
    if answer.status_code == 201:
        return 1
    if answer.status_code == 200:
        click.echo(f"   retry answered from its Idempotency-Key: {answer.json()['code']}")
        return 0
    counts["refused"] += 1
    error = answer.json()
    click.echo(f"   refused ({answer.status_code}): {error['code']} on {error['field']}")
    return 0


def _print_market_outcome(outcome: dict[str, Any]) -> None:
    stats = outcome["statistics"]
    click.echo(f"   MarketCleared by {outcome['engine']} {outcome['engine_version']} "
               f"(seed {outcome['seed']}, {outcome['pricing']}) in "
               f"{float(stats.get('seconds', 0)):.2f} s: {len(outcome['awards'])} awards, "
               f"{len(outcome['pareto_front'])} Pareto points")
    served: dict[str, float] = defaultdict(float)
    for award in outcome["awards"]:
        served[award["requester_id"]] += award["quantity"]
    objectives = outcome["objectives"]
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
        for participant in ("DSO-ARETI", "TSO-TERNA", "AGG-ROMA-1", "AGG-ROMA-2",
                            "AGG-ROMA-3"):
            answer = client.get(f"{settings.api_base_url}/v1/sessions/{session_id}/results/"
                                f"{participant}", headers=tokens[participant])
            if answer.status_code != 200:
                raise click.ClickException(f"results of {participant}: {answer.text}")
            results = answer.json()
            kw = sum(a["quantity"] for a in results["awards"])
            click.echo(f"     {participant:<11} {len(results['awards']):>4} awards "
                       f"{kw:>8.1f} kW·MTU  {results['total_value_cents'] / 100:>9.2f} €")


def wait_or_fail(process: WorkerProcess, condition, what: str,  # type: ignore[no-untyped-def]
                 timeout_s: float) -> None:
    """Wait for ``condition`` while ``process`` lives; a failure ends the demo with why."""
    try:
        process.wait_until(condition, what=what, timeout_s=timeout_s, poll_s=0.3)
    except WorkerWaitFailed as exc:
        raise click.ClickException(str(exc)) from None


def _outcome(engine: Engine, session_id: str, stage: str) -> Any | None:
    with engine.connect() as conn:
        return latest_outcome(conn, session_id, stage)


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0


def _api_up(settings: Settings):  # type: ignore[no-untyped-def]
    def up() -> bool:
        try:
            return httpx.get(f"{settings.api_base_url}/v1/health",
                             timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
    return up
