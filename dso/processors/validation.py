"""The technical validation processor: on MarketCleared, check the awards against the
DSO's grid and publish TechnicalValidationCompleted (Platone FR_DTP_ATV_1/2, flow 3 → 4)."""

from __future__ import annotations

import time
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog
from sqlalchemy import Connection, Engine, create_engine

from dso.domain.events import AwardVerdict, TechnicalValidationCompleted
from dso.domain.grid import Grid, UnknownGridPoint
from dso.domain.powerflow import PowerFlow
from dso.domain.validation import AwardToCheck, Verdict, validate
from dso.forecasting import session_scenarios
from dso.grids import limits_of, power_flow_of
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import answer_each
from ledger.settings import Settings
from ledger.topics import Topic
from market.clock import build_clock
from market.domain.calendar import find_session
from market.domain.clock import Clock
from market.domain.events import MarketCleared
from market.store import queries

log = structlog.get_logger("flexmarket.dso.validation")
# The awards' requests and PoDs must be read before they are checked, and a validation
# published before a restart before it is looked for.
VALIDATION_INPUTS = (Topic.REGISTRY, Topic.REQUESTS, Topic.OUTCOMES, Topic.VALIDATIONS)


def attach(app: faust.App, settings: Settings) -> None:
    """Add the technical-validation agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    answer_each(app, settings, name="technical-validation", source=Topic.OUTCOMES,
                kind=MarketCleared, target=Topic.VALIDATIONS, engine=engine,
                wait_for=VALIDATION_INPUTS,
                answer=partial(validate_outcome, settings, engine, build_clock(settings),
                               power_flow_of(settings.dso_grid)))


def awards_to_check(conn: Connection, grid: Grid, cleared: MarketCleared
                    ) -> tuple[list[AwardToCheck], list[Verdict]]:
    """The outcome's awards with what the grid needs of them: each request's direction,
    quantity type and role, and each PoD's bus (None when its location is not on the grid);
    and the verdicts of awards whose request the read models do not know (rejected: the
    DSO cannot tell what they change)."""
    requests = {r: queries.get_request(conn, r) for r in {a.request_id for a in cleared.awards}}
    pods = queries.get_pod_views(conn, {a.pod_id for a in cleared.awards})
    buses: dict[str, int | None] = {}
    for pod_id, pod in pods.items():
        try:
            buses[pod_id] = grid.locate(pod.primary_substation, pod.mv_feeder,
                                        pod.secondary_substation)
        except UnknownGridPoint:
            buses[pod_id] = None
    checked, unknown = [], []
    for a in cleared.awards:
        request = requests[a.request_id]
        if request is None:
            unknown.append(Verdict(a.award_id, a.request_id, a.offer_id, a.mtu, 0.0,
                                   "rejected", f"request {a.request_id} is unknown to the DSO"))
            continue
        checked.append(AwardToCheck(
            award_id=a.award_id, request_id=a.request_id, offer_id=a.offer_id,
            pod_id=a.pod_id, mtu=a.mtu, quantity=a.quantity, direction=request.direction,
            quantity_type=request.quantity_type, role=request.role,
            value_cents=a.value_cents, bus=buses.get(a.pod_id)))
    return checked, unknown


def validate_outcome(settings: Settings, engine: Engine, clock: Clock, power_flow: PowerFlow,
                     event: Event, cleared: MarketCleared) -> Event | None:
    """The technical outcome of one market outcome, or None if it was validated already.

    Its id derives from the market outcome's, so validating again after a crash gives
    the same event (FR_MP_FS_5: one technical outcome per market outcome).
    """
    with engine.connect() as conn:
        done = queries.latest_outcome(conn, cleared.session_id, "technical")
    if done is not None and done.market_outcome_event_id == str(event.event_id):
        return None
    zone = ZoneInfo(settings.time_zone)
    slot = find_session(cleared.session_id, zone)
    if slot is None:
        log.error("market outcome of a session not in the calendar", session=cleared.session_id)
        return None
    started = time.perf_counter()
    with engine.connect() as conn:
        # The same forecast the DSO's requests were sized on (DA awards and the estimated
        # state in place for a real-time session).
        scenarios = session_scenarios(conn, settings, power_flow.grid, slot, clock.now())
        checked, unknown = awards_to_check(conn, power_flow.grid, cleared)
    result = validate(power_flow, checked, lambda mtu: scenarios[mtu], limits_of(settings))
    verdicts = [*result.verdicts, *unknown]
    statuses = [v.status for v in verdicts]
    statistics: dict[str, float | int | str] = {
        "seconds": round(time.perf_counter() - started, 4), "power_flows": result.power_flows,
        "violations_without_awards": result.violations_without_awards,
        "violations_caused": result.violations_caused,
        **{s: statuses.count(s) for s in ("accepted", "partially_accepted", "rejected")}}
    payload = TechnicalValidationCompleted(
        validation_id=f"TV-{cleared.session_id}", session_id=cleared.session_id,
        market_outcome_event_id=str(event.event_id), grid=power_flow.grid.name,
        non_converged_mtus=result.non_converged_mtus, statistics=statistics,
        verdicts=tuple(AwardVerdict(award_id=v.award_id, request_id=v.request_id,
                                    offer_id=v.offer_id, mtu=v.mtu,
                                    accepted_quantity=v.accepted_quantity, status=v.status,
                                    reason=v.reason) for v in verdicts))
    log.info("market outcome validated", session=cleared.session_id, **statistics)
    return new_event(payload, actor=settings.dso_id, occurred_at=clock.now(),
                     event_id=derived_event_id(event.occurred_at, "TechnicalValidation",
                                               str(event.event_id)))
