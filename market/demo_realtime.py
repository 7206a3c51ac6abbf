"""Stage 7 of ``make demo``: the delivery day, with its six real-time sessions, on one
simulated clock from the evening before (RT-0 opens at 21:00) to past midnight.

A worker and an API run on that clock. The demo waits for each real-time session to
open, then the TSO simulator posts its request and a fifth of the PoDs offer the
session's window over REST; at gate closure the session clears, the DSO validates it,
and once validated the light nodes send the window's readings (what was awarded in
day-ahead and in that session, less what each PoD falls short) and acknowledge the
setpoints the aggregators issue 15 minutes before the window. After midnight the day's
metering closes and settlement pays on anvil.

One clock for the whole day, never set back: sessions' states and setpoints follow the
simulated time, and a process whose clock read earlier than the last one's would see
closed gates open again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import httpx
from sqlalchemy import select

from access_layer.ingest import send_packets
from access_layer.store.models import SetpointRow
from ledger.settings import Settings
from ledger.store.models import EventRow
from ledger.worker_process import WorkerProcess, api_answers
from market.clock import build_clock
from market.demo_delivery import (
    DeliveryPlan,
    acknowledgements,
    enrol_light_nodes,
    fund_and_upload_baselines,
    plan_delivery,
    window_packets,
)
from market.demo_offers import offer_bodies, offering, post_offers, real_time_pods
from market.demo_support import ClockBar, DemoDay, outcome, wait_or_fail
from market.demo_tso import TSO_ID, TsoSimulator, pom_of
from market.domain.calendar import SessionSlot, delivery_mtus, local_midnight
from market.domain.clock import SimulatedClock
from market.domain.submissions import PodView
from market.store.models import DaySettlementRow
from market.store.queries import active_pods, list_requests, validated_activations

# Simulated seconds per real second: a real-time session's 2-hour collection window
# passes in 15 s (its posting takes about one), the hour from gate closure to the
# window in 7.5 s (clearing and validation take two or three), the day in 3.5 minutes.
SPEED = 480.0
# The clock starts this long before RT-0 opens, for the worker and API to start (~10 s).
LEAD = timedelta(minutes=75)
# How often the scheduler, dispatch and metering look at the clock (real s): 4 simulated
# minutes at SPEED.
TICK_S = 0.5
# Past midnight: metering closes after its 15-minute grace, then settlement pays.
TAIL = timedelta(minutes=40)


def delivery_settings(day: DemoDay) -> Settings:
    """The delivery day's settings: the clock from ``LEAD`` before RT-0 opens, or from
    where the last stage's clock is now, whichever is later."""
    before = build_clock(day.settings).now()
    start = max(day.real_time[0].opens_at - LEAD, before)
    return day.settings.model_copy(update={
        "clock_start": start, "clock_speed": SPEED, "clock_anchor": datetime.now(UTC),
        "scheduler_tick_seconds": TICK_S})


@dataclass
class _Step:
    """One thing the demo does in a session once ``ready`` holds, before ``deadline``
    (simulated) or the demo fails; ``run`` says whether it is done, or is to run again
    when ready again."""

    name: str
    ready: Callable[[], bool]
    run: Callable[[], bool]
    deadline: datetime


@dataclass
class _Day:
    """What the delivery day's steps share."""

    day: DemoDay
    plan: DeliveryPlan
    offering: dict[str, list[PodView]]  # per real-time session
    tso: TsoSimulator
    worker: WorkerProcess
    client: httpx.Client
    bar: ClockBar
    acknowledged: int = 0


def run_delivery_day(day: DemoDay) -> DeliveryPlan:
    """Run the delivery day's six real-time sessions and its delivery, until settled.

    Returns:
        Who delivered and how (for the stages after).
    """
    day.settings = delivery_settings(day)
    clock = build_clock(day.settings)
    assert isinstance(clock, SimulatedClock)  # the demo's settings say simulated
    click.secho(f"7. delivery day {day.day}: six real-time sessions, setpoints and light "
                f"nodes on a simulated clock from {clock.now().astimezone(day.zone):%d %H:%M} "
                f"({SPEED:g}x)", bold=True)
    with day.engine.connect() as conn:
        pods = offering(active_pods(conn))
        awarded = sorted({a.pod_id for a in validated_activations(
            conn, [day.day_ahead.session_id], range(day.day_ahead.mtu_count))})
    if not awarded:
        raise click.ClickException("the validated day-ahead outcome has no awards to deliver")
    by_id = {p.pod_id: p for p in pods}
    rt = {s.session_id: real_time_pods(pods, s) for s in day.real_time}
    plan = plan_delivery(day.run, awarded, {p: by_id[p] for p in {
        *awarded, *(p.pod_id for chosen in rt.values() for p in chosen)}})
    logs = day.settings.var_dir / "log"
    end = local_midnight(day.day + timedelta(days=1), day.zone) + TAIL
    with WorkerProcess(day.settings, logs / "demo-delivery-worker.log") as worker, \
            WorkerProcess(day.settings, logs / "demo-delivery-api.log",
                          command=("serve",)) as api, \
            httpx.Client(timeout=30) as client, ClockBar(clock, end, day.zone) as bar:
        wait_or_fail(api, bar.watching(lambda: api_answers(day.settings)), "the API", 60)
        fund_and_upload_baselines(client, day, plan)
        bar.say(f"   funded the operators; baselines for the {len(plan.pods)} PoDs that "
                f"deliver ({len(awarded)} awarded day-ahead, the others offer in real "
                "time), uploaded before the day")
        state = _Day(day, plan, rt, TsoSimulator(pom_of(pods)), worker, client, bar)
        _drive(state, [_session_steps(state, slot) for slot in day.real_time])
        _wait_settled(state)
    return plan


def _drive(s: _Day, sessions: list[list[_Step]]) -> None:
    """Run each session's steps in order, each as soon as it is ready: the sessions
    overlap (one's setpoints may still be on their way when the next opens), and a step
    must not wait for another session's."""
    queues = [deque(steps) for steps in sessions]
    last = max(step.deadline for steps in sessions for step in steps)

    def done() -> bool:
        now = s.bar.clock.now()
        for queue in queues:
            while queue and queue[0].ready():
                if not queue[0].run():
                    break
                queue.popleft()
            if queue and now > queue[0].deadline:
                raise click.ClickException(
                    f"{queue[0].name} did not happen by "
                    f"{queue[0].deadline.astimezone(s.day.zone):%H:%M} (simulated): the "
                    f"machine is too busy for {SPEED:g}x; see {s.worker.log_file}")
        return not any(queues)

    wait_or_fail(s.worker, s.bar.watching(done), "the real-time sessions",
                 s.bar.real_s(last, 120))


def _session_steps(s: _Day, slot: SessionSlot) -> list[_Step]:
    """A real-time session's steps: its requests and offers once it opens; the window's
    readings once it is validated (the light nodes enrolled first, before RT-0's); the
    nodes' acknowledgements as the DSO relays the window's setpoints.

    The relay answers one setpoint at a time (a few a second here), so a window with
    many may be relayed after it started on this fast clock: each is acknowledged once
    relayed, at the time the relay says (the time it was issued)."""
    day, engine, clock = s.day, s.day.engine, s.bar.clock
    done: dict[str, Any] = {"acknowledged": set()}
    mtus = [m for m in delivery_mtus(day.day, day.zone) if slot.covers(m.index)]

    def post() -> bool:
        counts: dict[str, int] = {"refused": 0}
        done["requests"] = s.tso.post(s.client, day.settings, slot, day.tokens[TSO_ID],
                                      counts)
        done["offers"] = post_offers(s.client, day.settings, slot, offer_bodies(
            s.offering[slot.session_id], slot), day.tokens, counts)
        if counts["refused"]:
            raise click.ClickException(f"{counts['refused']} submissions to "
                                       f"{slot.session_id} refused")
        return True

    def deliver() -> bool:
        if slot.window == 0:
            enrol_light_nodes(s.client, day, s.plan)
            s.bar.say(f"   {len(s.plan.pods)} light nodes enrolled over REST (readings count "
                      "from now on)")
        with engine.connect() as conn:
            activations = validated_activations(
                conn, [day.day_ahead.session_id, slot.session_id], [m.index for m in mtus])
        done["activated"] = len({a.pod_id for a in activations})
        done["readings"] = send_packets(day.settings,
                                        window_packets(s.plan, mtus, activations))
        return True

    def relayed() -> list[Any]:
        with engine.connect() as conn:
            return [r for r in conn.execute(select(SetpointRow).where(
                SetpointRow.session_id == slot.session_id,
                SetpointRow.relayed_at.is_not(None))).all()
                if r.activation_id not in done["acknowledged"]]

    def acknowledge() -> bool:
        complete = _all_relayed(engine, slot, done["activated"])  # before reading them
        new = relayed()
        s.acknowledged += send_packets(day.settings, acknowledgements(s.plan, new))
        done["acknowledged"] |= {r.activation_id for r in new}
        if not complete:
            return False
        s.bar.say(_session_line(day, slot, done))
        return True

    return [
        _Step(f"posting to {slot.session_id}", lambda: clock.now() >= slot.opens_at, post,
              slot.gate_closes_at),
        _Step(f"the validated outcome of {slot.session_id}",
              lambda: outcome(engine, slot.session_id, "validated") is not None, deliver,
              slot.delivery_start),
        _Step(f"the setpoints of {slot.session_id} relayed",
              lambda: bool(relayed()) or _all_relayed(engine, slot, done["activated"]),
              acknowledge, day.sessions[-1].delivery_end + TAIL)]


def _session_line(day: DemoDay, slot: SessionSlot, posted: dict[str, Any]) -> str:
    technical = outcome(day.engine, slot.session_id, "technical")
    validated = outcome(day.engine, slot.session_id, "validated")
    assert technical is not None and validated is not None  # the readings waited for them
    with day.engine.connect() as conn:
        dso = len(list_requests(conn, session_id=slot.session_id,
                                requester_id=day.settings.dso_id)[1])
    stats = technical.payload["statistics"]
    awards = [a for a in validated.payload["awards"] if a["quantity"] > 0]
    zone = day.zone
    return (f"   {slot.session_id}  {slot.delivery_start.astimezone(zone):%H:%M}–"
            f"{slot.delivery_end.astimezone(zone):%H:%M}  requests TSO "
            f"{len(posted['requests'])} + DSO {dso}, {posted['offers']} offers → "
            f"{len(awards)} awards {sum(a['quantity'] for a in awards):.1f} kW·MTU "
            f"({stats['accepted']} accepted, {stats['partially_accepted']} cut, "
            f"{stats['rejected']} rejected) → {len(posted['acknowledged'])} setpoints relayed "
            f"and acknowledged; {posted['readings']:,} readings sent")


def _all_relayed(engine: Any, slot: SessionSlot, expected: int) -> bool:
    """Whether the window's setpoints (one per activated PoD) are all issued and each
    relayed or refused by the DSO."""
    with engine.connect() as conn:
        rows = conn.execute(select(SetpointRow.activation_id, SetpointRow.relayed_at).where(
            SetpointRow.session_id == slot.session_id)).all()
        pending = {r.activation_id for r in rows if r.relayed_at is None}
        if pending:
            refused = {e.payload["activation_id"] for e in conn.execute(
                select(EventRow).where(EventRow.type == "SetpointRefused"))}
            pending -= refused
    return len(rows) >= expected and not pending


def _wait_settled(s: _Day) -> None:
    day, bar, engine = s.day, s.bar, s.day.engine
    wait_or_fail(s.worker, bar.watching(lambda: _acknowledged(s) >= s.acknowledged),
                 "the setpoint acknowledgements", 60)
    bar.say(f"   {s.acknowledged} setpoints acknowledged by the light nodes with three times "
            "each; waiting for the day to end, its metering to close and settlement …")
    midnight = local_midnight(day.day + timedelta(days=1), day.zone)

    def settled() -> bool:
        with engine.connect() as conn:
            return conn.execute(select(DaySettlementRow).where(
                DaySettlementRow.delivery_day == day.day)).first() is not None

    wait_or_fail(s.worker, bar.watching(settled), "the day settled and paid",
                 bar.real_s(midnight, 240))


def _acknowledged(s: _Day) -> int:
    with s.day.engine.connect() as conn:
        return len(conn.execute(select(SetpointRow.activation_id).where(
            SetpointRow.session_id.in_([r.session_id for r in s.day.real_time]),
            SetpointRow.sent_by_dso_at.is_not(None))).all())
