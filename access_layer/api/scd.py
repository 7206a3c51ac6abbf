"""The shared customer database over REST (Platone A.5): aggregators register PoDs
(flow 0), enrol their light nodes and upload baselines; each reads only its own PoDs'
data, the DSO reads any PoD on demand (flow 1A).

Platone's write policy holds here: a baseline may change only for a day not yet
delivered, and market outcomes are not writable at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Connection

from access_layer.api.schemas import (
    BaselineComputation,
    BaselinePublic,
    BaselineUpload,
    LightNodeEnrolment,
    PodChange,
    PodCreate,
    PodReadings,
    PodUnregistration,
    QuarterHourPacket,
    QuarterHourPublic,
    RejectionPublic,
    SetpointPage,
    SetpointPublic,
)
from access_layer.domain.events import LightNodeEnrolled, quarter_hour_in_utc
from access_layer.store import queries as scd
from aggregator.domain.baselines import high_x_of_y_baseline, typical_profile_baseline
from aggregator.domain.events import (
    BaselineUploaded,
    PodRegistered,
    PodUnregistered,
    PodUpdated,
)
from dso.domain.forecast import ForecastError, Sample, learn_profiles
from ledger.auth.access import ANY, OWN, Principal
from ledger.errors import Conflict, Forbidden, NotFound, Rejected
from ledger.store.queries import utc
from market.api.deps import (
    Aggregator,
    ClockDep,
    DbConnection,
    IdempotencyKey,
    SettingsDep,
    SubmitterDep,
    allowed,
    errors,
    require_pod_reader,
    write_responses,
)
from market.api.submission import accept
from market.api.v1.schemas import SubmissionAccepted
from market.domain.calendar import day_sessions, delivery_mtus, local_midnight
from market.store import queries as market_queries
from market.store import settlement_queries

router = APIRouter(prefix="/v1/scd", tags=["shared customer database"])
PodIdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
DayPath = Annotated[date, Path(description="the local delivery day")]
# DSO reads reach back to the start of the previous calendar year (FR_SCD_PD_4).
HISTORY_YEARS = 1
MAX_READ_DAYS = 31
# Platone A.5's access matrix: a PoD's aggregator and customer read its data, the DSO
# any PoD's.
PodDataReader = allowed(aggregator=OWN, customer=OWN, dso=ANY)
QuarterHourReader = allowed(aggregator=OWN, dso=ANY)


def own_pod(conn: Connection, pod_id: str, aggregator_id: str,
            field: str = "aggregator_id") -> Any:
    """The active PoD ``pod_id`` if ``aggregator_id`` registered it.

    Raises:
        NotFound: ``UNKNOWN_POD``; Forbidden: ``NOT_YOUR_POD``, naming ``field``.
    """
    pod = market_queries.get_pod(conn, pod_id)
    if pod is None or not pod.active:
        raise NotFound(f"no registered PoD {pod_id}", code="UNKNOWN_POD", field="pod_id")
    if pod.aggregator_id != aggregator_id:
        raise Forbidden(f"PoD {pod_id} is another aggregator's", code="NOT_YOUR_POD",
                        field=field)
    return pod


def _readable_pod(conn: Connection, pod_id: str, caller: Principal) -> Any:
    """The PoD if the caller may read its data. Others get 403, whether or not the PoD
    exists."""
    pod = market_queries.get_pod(conn, pod_id)
    require_pod_reader(caller, pod)
    if pod is None:
        raise NotFound(f"no PoD {pod_id}", code="UNKNOWN_POD", field="pod_id")
    return pod


@router.post("/pods", status_code=201, response_model=SubmissionAccepted,
             responses=write_responses(403, 404, 409))
def register_pod(body: PodCreate, submitter: SubmitterDep, response: Response,
                 caller: Aggregator,
                 idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Register a customer's PoD (FR_SCD_CA_1, flow 0); the DSO then associates its PoM.
    Registering it again (same aggregator) replaces its data."""

    def make(conn: Connection, now: datetime) -> PodRegistered:
        existing = market_queries.get_pod(conn, body.pod_id)
        if existing is not None and existing.active and \
                existing.aggregator_id != body.aggregator_id:
            raise Conflict(f"PoD {body.pod_id} is registered by another aggregator",
                           code="POD_REGISTERED", field="pod_id")
        if body.settlement_mechanism_id is not None:
            mechanism = settlement_queries.get_mechanism(conn, body.settlement_mechanism_id)
            if mechanism is None:
                raise NotFound(f"no settlement mechanism {body.settlement_mechanism_id}",
                               code="UNKNOWN_MECHANISM", field="settlement_mechanism_id")
            if mechanism.aggregator_id != body.aggregator_id:
                raise Forbidden("the settlement mechanism is another aggregator's",
                                code="NOT_YOUR_MECHANISM", field="settlement_mechanism_id")
        return PodRegistered(**body.model_dump())

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"pods:{body.pod_id}", body=body, payload_of=make)


@router.put("/pods/{pod_id}", status_code=201, response_model=SubmissionAccepted,
            responses=write_responses(403, 404))
def change_pod(pod_id: PodIdPath, body: PodChange, submitter: SubmitterDep,
               response: Response, caller: Aggregator,
               idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Change a PoD's flexibility limits or type (FR_AP_PR_3, event-triggered update)."""

    def make(conn: Connection, now: datetime) -> PodUpdated:
        own_pod(conn, pod_id, body.aggregator_id)
        return PodUpdated(pod_id=pod_id, **body.model_dump())

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"pod-change:{pod_id}",
                  body=body, payload_of=make)


@router.post("/pods/{pod_id}/unregistration", status_code=201,
             response_model=SubmissionAccepted, responses=write_responses(403, 404, 409))
def unregister_pod(pod_id: PodIdPath, body: PodUnregistration, submitter: SubmitterDep,
                   response: Response,
                   caller: Aggregator,
                   idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Withdraw a PoD from the market (cessation, FR_SCD_CA_1); its history stays."""

    def make(conn: Connection, now: datetime) -> PodUnregistered:
        own_pod(conn, pod_id, body.aggregator_id)
        return PodUnregistered(pod_id=pod_id, **body.model_dump())

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"pod-unregistration:{pod_id}",
                  body=body, payload_of=make)


@router.put("/pods/{pod_id}/light-node", status_code=201, response_model=SubmissionAccepted,
            responses=write_responses(403, 404))
def enrol_light_node(pod_id: PodIdPath, body: LightNodeEnrolment, submitter: SubmitterDep,
                     response: Response,
                     caller: Aggregator,
                     idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Enrol the light node whose signature certifies the PoD's readings from now on;
    a node enrolled before is replaced."""

    def make(conn: Connection, now: datetime) -> LightNodeEnrolled:
        own_pod(conn, pod_id, body.aggregator_id)
        return LightNodeEnrolled(pod_id=pod_id, aggregator_id=body.aggregator_id,
                                 node_address=body.node_address.lower())

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"light-node:{pod_id}",
                  body=body, payload_of=make)


def _check_not_delivered(day: date, now: datetime, zone: ZoneInfo) -> None:
    if now >= local_midnight(day, zone):
        raise Conflict(f"{day} is being or was delivered: its baseline can no longer change",
                       code="BASELINE_DAY_DELIVERED", field="delivery_day")


@router.put("/pods/{pod_id}/baselines/{delivery_day}", status_code=201,
            response_model=SubmissionAccepted, responses=write_responses(403, 404, 409))
def upload_baseline(pod_id: PodIdPath, delivery_day: DayPath, body: BaselineUpload,
                    settings: SettingsDep, submitter: SubmitterDep, response: Response,
                    caller: Aggregator,
                    idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Upload a PoD's baseline for a day not yet delivered (FR_AP_PR_2): one slot per MTU
    of the day (96; 92 or 100 on daylight-saving days), MTUs 0, 1, … in order."""
    zone = ZoneInfo(settings.time_zone)

    def make(conn: Connection, now: datetime) -> BaselineUploaded:
        own_pod(conn, pod_id, body.aggregator_id)
        _check_not_delivered(delivery_day, now, zone)
        count = len(delivery_mtus(delivery_day, zone))
        if [s.mtu for s in body.slots] != list(range(count)):
            raise Rejected(f"{delivery_day} has {count} MTUs: give slots for MTUs 0 to "
                           f"{count - 1} in order", code="BASELINE_SLOTS", field="slots")
        return BaselineUploaded(pod_id=pod_id, aggregator_id=body.aggregator_id,
                                delivery_day=delivery_day, method="uploaded",
                                slots=tuple(body.slots))

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"baseline:{pod_id}:{delivery_day}",
                  body=body, payload_of=make)


@router.post("/pods/{pod_id}/baselines/{delivery_day}/computation", status_code=201,
             response_model=SubmissionAccepted, responses=write_responses(403, 404, 409))
def compute_baseline(pod_id: PodIdPath, delivery_day: DayPath, body: BaselineComputation,
                     settings: SettingsDep, submitter: SubmitterDep, response: Response,
                     caller: Aggregator,
                     idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Compute and publish a PoD's baseline from its certified readings: "high X of Y"
    (the X highest-consumption of the last Y like days without activations) or its
    typical profile (FR_AP_PR_2, "a basic forecast algorithm based on typical
    consumption"). 422 ``BASELINE_HISTORY`` when the readings do not suffice."""
    zone = ZoneInfo(settings.time_zone)

    def make(conn: Connection, now: datetime) -> BaselineUploaded:
        own_pod(conn, pod_id, body.aggregator_id)
        _check_not_delivered(delivery_day, now, zone)
        # Enough like days: Y weekdays span about 1.5 Y days, Y Sundays 7 Y.
        start = local_midnight(delivery_day - timedelta(days=7 * body.y + 7), zone)
        rows = scd.readings_between(conn, pod_id, start, local_midnight(delivery_day, zone))
        if body.method == "high_x_of_y":
            return high_x_of_y_baseline(
                pod_id, body.aggregator_id, delivery_day, _history(rows, zone), zone,
                x=body.x, y=body.y, excluded_days=_activated_days(conn, pod_id))
        try:
            book = learn_profiles([Sample(pod_id, utc(r.interval_start), r.p_kw, r.q_kvar)
                                   for r in rows], zone)
        except ForecastError as exc:
            raise Rejected(str(exc), code="BASELINE_HISTORY", field="method") from None
        return typical_profile_baseline(pod_id, body.aggregator_id, delivery_day, book, zone)

    return accept(submitter, response, caller, actor=body.aggregator_id,
                  key=idempotency_key, route=f"baseline:{pod_id}:{delivery_day}",
                  body=body, payload_of=make)


def _history(rows: list[Any], zone: ZoneInfo) -> dict[date, list[tuple[float, float]]]:
    """Certified readings as complete local days: (P, Q) per MTU; incomplete days out."""
    by_day: dict[date, dict[datetime, tuple[float, float]]] = defaultdict(dict)
    for r in rows:
        start = utc(r.interval_start)
        by_day[start.astimezone(zone).date()][start] = (r.p_kw, r.q_kvar)
    history = {}
    for day, values in by_day.items():
        mtus = delivery_mtus(day, zone)
        if all(m.start in values for m in mtus):
            history[day] = [values[m.start] for m in mtus]
    return history


def _activated_days(conn: Connection, pod_id: str) -> set[date]:
    """Days the PoD was activated on: not like days for its baseline (session ids are
    ``DA-YYYY-MM-DD`` or ``RT-YYYY-MM-DD-k``)."""
    return {date.fromisoformat(s[3:13]) for s in scd.activated_sessions(conn, pod_id)}


@router.get("/pods/{pod_id}/baselines/{delivery_day}", response_model=BaselinePublic,
            responses=errors(401, 403, 404))
def get_baseline(pod_id: PodIdPath, delivery_day: DayPath, caller: PodDataReader,
                 conn: DbConnection) -> BaselinePublic:
    """A PoD's baseline for a day: its aggregator's or the DSO's to read."""
    _readable_pod(conn, pod_id, caller)
    row = scd.get_baseline(conn, pod_id, delivery_day)
    if row is None:
        raise NotFound(f"no baseline of {pod_id} for {delivery_day}", code="NO_BASELINE",
                       field="delivery_day")
    return BaselinePublic(pod_id=row.pod_id, delivery_day=row.delivery_day.isoformat(),
                          aggregator_id=row.aggregator_id, method=row.method, slots=row.slots,
                          uploaded_at=row.uploaded_at)


@router.get("/pods/{pod_id}/readings", response_model=PodReadings,
            responses=errors(401, 403, 404))
def get_readings(
    pod_id: PodIdPath, caller: PodDataReader, conn: DbConnection, settings: SettingsDep,
    clock: ClockDep,
    start: Annotated[datetime, Query(alias="from", description="UTC, a quarter-hour")],
    end: Annotated[datetime, Query(alias="to", description="UTC, exclusive")],
) -> PodReadings:
    """A PoD's quarter-hours in ``[from, to)``: certified, missing or not yet published,
    and the packets refused for it (flow 1A). At most 31 days at a time, back to the
    start of the previous calendar year (FR_SCD_PD_4)."""
    pod = _readable_pod(conn, pod_id, caller)
    try:
        start, end = quarter_hour_in_utc(start), quarter_hour_in_utc(end)
    except ValueError as exc:
        raise Rejected(f"from/to: {exc}", code="INVALID_PERIOD", field="from") from None
    if not start < end <= start + timedelta(days=MAX_READ_DAYS):
        raise Rejected(f"to must be after from, by at most {MAX_READ_DAYS} days",
                       code="INVALID_PERIOD", field="to")
    now = clock.now()
    oldest = datetime(now.astimezone(ZoneInfo(settings.time_zone)).year - HISTORY_YEARS, 1, 1,
                      tzinfo=UTC)
    if start < oldest:
        raise Rejected(f"readings are kept back to {oldest.date()}", code="HISTORY_TOO_OLD",
                       field="from")
    certified = {utc(r.interval_start): r for r in scd.readings_between(conn, pod_id, start, end)}
    missing = {utc(r.interval_start): r for r in scd.missing_between(conn, pod_id, start, end)}
    quarters = []
    at = start
    while at < end and at + timedelta(minutes=15) <= now:
        quarters.append(_quarter(pod.pod_id, at, certified.get(at), missing.get(at)))
        at += timedelta(minutes=15)
    rejections = [RejectionPublic(pod_id=r.pod_id, code=r.code, reason=r.reason, source=r.source,
                                  interval_start=r.interval_start,
                                  node_address=r.node_address, rejected_at=r.rejected_at)
                  for r in scd.rejections_between(conn, pod_id, start, end)]
    return PodReadings(pod_id=pod_id, readings=quarters, rejections=rejections)


def _quarter(pod_id: str, at: datetime, certified: Any, missing: Any) -> QuarterHourPublic:
    if certified is not None:
        return QuarterHourPublic(pod_id=pod_id, interval_start=at, status="certified",
                                 p_kw=certified.p_kw, q_kvar=certified.q_kvar,
                                 energy_kwh=certified.energy_kwh,
                                 node_address=certified.node_address,
                                 event_id=certified.event_id)
    if missing is not None:
        return QuarterHourPublic(pod_id=pod_id, interval_start=at, status="missing",
                                 node_address=missing.node_address, event_id=missing.event_id)
    return QuarterHourPublic(pod_id=pod_id, interval_start=at, status="pending")


@router.get("/aggregators/{aggregator_id}/quarter-hours/{interval_start}",
            response_model=QuarterHourPacket, responses=errors(401, 403, 404))
def get_quarter_hour(
    aggregator_id: PodIdPath, interval_start: datetime, caller: QuarterHourReader,
    conn: DbConnection,
) -> QuarterHourPacket:
    """The aggregator's 15-minute packet (FR_SCD_PD_3, flow 1): every one of its PoDs
    with a light node, certified, missing or pending for that quarter-hour. Only the
    aggregator itself reads it."""
    caller.require_own(aggregator_id, field="aggregator_id")
    try:
        at = quarter_hour_in_utc(interval_start)
    except ValueError as exc:
        raise Rejected(f"interval_start: {exc}", code="INVALID_PERIOD",
                       field="interval_start") from None
    nodes = scd.enrolled_nodes(conn, [p.pod_id for p in scd.pods_of(conn, aggregator_id)])
    certified, missing = scd.readings_at(conn, sorted(nodes), at)
    return QuarterHourPacket(aggregator_id=aggregator_id, interval_start=at, pods=[
        _quarter(pod, at, certified.get(pod), missing.get(pod)) for pod in sorted(nodes)])


@router.get("/pods/{pod_id}/setpoints", response_model=SetpointPage,
            responses=errors(401, 403, 404))
def get_setpoints(pod_id: PodIdPath, delivery_day: Annotated[date, Query()],
                  caller: PodDataReader, conn: DbConnection,
                  settings: SettingsDep) -> SetpointPage:
    """A PoD's setpoints of a delivery day and how far each got (issued, relayed,
    acknowledged with its three times)."""
    _readable_pod(conn, pod_id, caller)
    sessions = [s.session_id for s in day_sessions(delivery_day, ZoneInfo(settings.time_zone))]
    return SetpointPage(items=[SetpointPublic(
        activation_id=r.activation_id, pod_id=r.pod_id, session_id=r.session_id,
        slots=r.slots, issued_at=r.issued_at, relayed_at=r.relayed_at,
        sent_by_dso_at=r.sent_by_dso_at, received_by_node_at=r.received_by_node_at,
        received_by_device_at=r.received_by_device_at)
        for r in scd.setpoints_of(conn, pod_id, sessions)])
