"""The rules a flexibility request or offer must meet when it arrives (MARKET_RULES.md
"Requests and offers"; Platone FR_MP_FS_1): each broken rule is an error that names the
field, raised before anything is written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ledger.errors import Conflict, Forbidden, Rejected
from market.domain.calendar import SessionKind, SessionSlot, SessionState
from market.domain.events import BlockTerms, FlexOfferSubmitted, FlexRequestSubmitted

# Round-off allowance when summing price steps against a PoD's limit (kW, kVAr).
LIMIT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PodView:
    """What the rules need to know of a registered PoD."""

    pod_id: str
    aggregator_id: str
    primary_substation: str
    mv_feeder: str
    secondary_substation: str
    up_p_kw: float
    down_p_kw: float
    up_q_kvar: float
    down_q_kvar: float
    active: bool = True
    pom_id: str | None = None  # the DSO's association, once it has made it

    def limit(self, direction: str, quantity_type: str) -> float:
        """The PoD's max flexibility in one direction and quantity type (kW or kVAr)."""
        return {("up", "P"): self.up_p_kw, ("down", "P"): self.down_p_kw,
                ("up", "Q"): self.up_q_kvar, ("down", "Q"): self.down_q_kvar}[
            (direction, quantity_type)]

    def pom(self) -> str:
        """The PoD's PoM, the TSO–DSO connection point: the DSO's association (Platone flow
        0A) once made, its primary substation until then."""
        return self.pom_id or self.primary_substation

    def is_under(self, kind: str, point: str) -> bool:
        return {"primary_substation": self.primary_substation, "mv_feeder": self.mv_feeder,
                "secondary_substation": self.secondary_substation,
                "pom": self.pom()}[kind] == point


def check_session_open(slot: SessionSlot, market_type: str, now: datetime,
                       what: str) -> None:
    """The session takes submissions now, and is of the type the submission says.

    Raises:
        Rejected: ``SESSION_TYPE_MISMATCH`` on ``market_type``.
        Conflict: ``SESSION_NOT_OPEN`` before it opens, ``<WHAT>_AFTER_GATE_CLOSURE`` after.
    """
    if market_type != slot.kind.value:
        raise Rejected(f"session {slot.session_id} is a {slot.kind.value} session, not "
                       f"{market_type}", code="SESSION_TYPE_MISMATCH", field="market_type")
    state = slot.state_at(now)
    if state is SessionState.SCHEDULED:
        raise Conflict(f"session {slot.session_id} opens at {slot.opens_at.isoformat()}",
                       code="SESSION_NOT_OPEN", field="session_id")
    if state is SessionState.CLOSED:
        raise Conflict(f"the gate of session {slot.session_id} closed at "
                       f"{slot.gate_closes_at.isoformat()}",
                       code=f"{what.upper()}_AFTER_GATE_CLOSURE", field="session_id")


def check_mtus(slot: SessionSlot, mtus: list[tuple[str, int]]) -> None:
    """Every MTU named lies in the session's delivery window.

    Raises:
        Rejected: ``MTU_OUTSIDE_SESSION`` naming the first field at fault.
    """
    for field, mtu in mtus:
        if not slot.covers(mtu):
            raise Rejected(f"MTU {mtu} is outside session {slot.session_id} (MTUs "
                           f"{slot.first_mtu}..{slot.first_mtu + slot.mtu_count - 1})",
                           code="MTU_OUTSIDE_SESSION", field=field)


def check_offer(offer: FlexOfferSubmitted, slot: SessionSlot, pod: PodView | None,
                now: datetime, market_type: str) -> None:
    """An offer may enter the session (FR_MP_FS_1 step 2).

    Raises:
        Rejected: unknown PoD, an MTU outside the session, a quantity above the PoD's
            max flexibility, a malformed block, or neither/both of steps and block.
        Forbidden: ``POD_OF_ANOTHER_AGGREGATOR``.
        Conflict: the session is not open.
    """
    check_session_open(slot, market_type, now, "offer")
    if pod is None or not pod.active:
        raise Rejected(f"PoD {offer.pod_id} is not registered", code="UNKNOWN_POD",
                       field="pod_id")
    if pod.aggregator_id != offer.aggregator_id:
        raise Forbidden(f"PoD {offer.pod_id} belongs to another aggregator",
                        code="POD_OF_ANOTHER_AGGREGATOR", field="pod_id")
    if bool(offer.steps) == (offer.block is not None):
        raise Rejected("an offer has either price steps or a flexible block",
                       code="OFFER_SHAPE", field="steps" if offer.steps else "block")
    limit = pod.limit(offer.direction, offer.quantity_type)
    if offer.block is not None:
        _check_block(offer.block, offer.pod_id, slot, limit)
        return
    check_mtus(slot, [(f"steps.{i}.mtu", s.mtu) for i, s in enumerate(offer.steps)])
    per_mtu: dict[int, float] = defaultdict(float)
    for i, step in enumerate(offer.steps):
        per_mtu[step.mtu] += step.quantity
        if per_mtu[step.mtu] > limit + LIMIT_TOLERANCE:
            raise Rejected(f"MTU {step.mtu}: {per_mtu[step.mtu]:g} is above PoD "
                           f"{offer.pod_id}'s max flexibility {limit:g} "
                           f"({offer.direction} {offer.quantity_type})",
                           code="ABOVE_MAX_FLEXIBILITY", field=f"steps.{i}.quantity")


def _check_block(block: BlockTerms, pod_id: str, slot: SessionSlot, limit: float) -> None:
    check_mtus(slot, [("block.first_mtu", block.first_mtu), ("block.last_mtu", block.last_mtu)])
    if block.last_mtu < block.first_mtu:
        raise Rejected("the block's window ends before it starts", code="BLOCK_WINDOW",
                       field="block.last_mtu")
    if block.max_power > limit + LIMIT_TOLERANCE:
        raise Rejected(f"max power {block.max_power:g} is above PoD {pod_id}'s max "
                       f"flexibility {limit:g}", code="ABOVE_MAX_FLEXIBILITY",
                       field="block.max_power")
    deliverable = block.max_power * 0.25 * (block.last_mtu - block.first_mtu + 1)
    if block.energy > deliverable + LIMIT_TOLERANCE:
        raise Rejected(f"energy {block.energy:g} cannot be delivered at {block.max_power:g} "
                       f"in the window (at most {deliverable:g})", code="BLOCK_ENERGY",
                       field="block.energy")


def check_request(request: FlexRequestSubmitted, slot: SessionSlot,
                  pods: dict[str, PodView], pom_known: bool, now: datetime,
                  market_type: str) -> None:
    """A request may enter the session (FR_MP_FS_1 step 1).

    A DSO names a grid point and eligible PoDs under it; a TSO names a PoM only.

    Args:
        pods: the registered PoDs among ``request.eligible_pods``.
        pom_known: whether any registered PoD sits under the request's location.

    Raises:
        Rejected: a location of the wrong kind for the role, unknown or ineligible PoDs,
            an unknown PoM, an MTU outside the session, an MTU named twice.
        Conflict: the session is not open.
    """
    check_session_open(slot, market_type, now, "request")
    location = request.location
    if request.role == "TSO":
        if location.kind != "pom":
            raise Rejected("a TSO request is located at a PoM", code="LOCATION_KIND",
                           field="location.kind")
        if request.eligible_pods:
            raise Rejected("a TSO request names a PoM, not PoDs", code="TSO_NAMES_PODS",
                           field="eligible_pods")
        if not pom_known:
            raise Rejected(f"no registered PoD is under PoM {location.id}",
                           code="UNKNOWN_POM", field="location.id")
    else:
        if location.kind == "pom":
            raise Rejected("a DSO request is located at a grid point of its network",
                           code="LOCATION_KIND", field="location.kind")
        if not request.eligible_pods:
            raise Rejected("a DSO request lists the PoDs that may serve it",
                           code="NO_ELIGIBLE_PODS", field="eligible_pods")
        for i, pod_id in enumerate(request.eligible_pods):
            pod = pods.get(pod_id)
            if pod is None or not pod.active:
                raise Rejected(f"PoD {pod_id} is not registered", code="UNKNOWN_POD",
                               field=f"eligible_pods.{i}")
            if not pod.is_under(location.kind, location.id):
                raise Rejected(f"PoD {pod_id} is not under {location.kind} {location.id}",
                               code="POD_NOT_UNDER_LOCATION", field=f"eligible_pods.{i}")
    check_mtus(slot, [(f"quantities.{i}.mtu", q.mtu) for i, q in enumerate(request.quantities)])
    seen: set[int] = set()
    for i, q in enumerate(request.quantities):
        if q.mtu in seen:
            raise Rejected(f"MTU {q.mtu} is named twice", code="MTU_REPEATED",
                           field=f"quantities.{i}.mtu")
        seen.add(q.mtu)


def player_service_id(operator: str, place: str, slot: SessionSlot, zone: ZoneInfo) -> str:
    """Platone's id of a service in a session: ``<operator>::<PoD or place>::<marketType>::
    <delivery start, local ISO 8601 with offset>``, e.g.
    ``ACEAE::IT002EAA0123AA::dayAhead::2021-05-14T00:00:00.000+02:00``."""
    market = "dayAhead" if slot.kind is SessionKind.DAY_AHEAD else "realTime"
    start = slot.delivery_start.astimezone(zone)
    stamp = start.strftime("%Y-%m-%dT%H:%M:%S.000") + start.strftime("%z")[:3] + ":" + \
        start.strftime("%z")[3:]
    return f"{operator}::{place}::{market}::{stamp}"


def check_withdrawal(slot: SessionSlot, withdrawn: bool, now: datetime, what: str) -> None:
    """A request or offer may be withdrawn while its session's gate is open, once.

    Raises:
        Conflict: ``ALREADY_WITHDRAWN``, or the session is not open.
    """
    if withdrawn:
        raise Conflict(f"the {what} is already withdrawn", code="ALREADY_WITHDRAWN",
                       field=f"{what}_id")
    check_session_open(slot, slot.kind.value, now, "withdrawal")
