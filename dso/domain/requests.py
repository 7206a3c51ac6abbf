"""The DSO's flexibility requests: from the violations a forecast power flow shows to the
needs posted to the market (Platone A.3 FR_DTP_ROF_3, "define the set of PoDs needed to
solve congestions or voltage violations"; research digest §1.5, Flexibility Request
generation; MARKET_RULES.md "Participants and places").

Run per MTU only where violations are found (the digest's trigger). Each violation
becomes an operator alert (A.3, issue type, value, asset, the flexibility that can
contribute) and is answered at a grid point: a bus or a line at its MV feeder, a HV/MV
transformer at the feeder it supplies (its primary substation when its busbar feeds
several). Voltage is served with the quantity type the DSO
chooses (Q by default, the digest's reactive-power dispatching), congestion with P.

The digest describes a sequential linear OPF with sensitivities. Here a need is sized by
sensitivities and then confirmed by power flows: the linear estimate (the violation's
excess over the sensitivity of the violated value to the need spread over its PoDs),
then real power flows with that quantity applied, raised by each residual, until the
group's violations are gone. The technical validation that follows the market
(``dso.domain.validation``) holds every award to the same power flow, so a request sized
on a linearisation alone could ask for less than that check needs; confirmed by it, a
fully served request clears what it was posted for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np

from dso.domain.grid import GridError, GridPoint
from dso.domain.powerflow import FlowResult, Limits, PowerFlow, Violation
from dso.domain.validation import MtuScenario

Direction = Literal["up", "down"]
QuantityType = Literal["P", "Q"]
Service = Literal["congestion", "voltage"]
IssueType = Literal["voltage violation", "congestion"]

# Power flows at most per group and MTU spent confirming and correcting a size.
MAX_SIZING_FLOWS = 10
# A correction goes this much beyond the residual's linear estimate, so that the next
# power flow usually confirms rather than asks again.
SIZING_MARGIN = 1.1
# A PoD is eligible when it eases the violation by more than this share of the PoD that
# eases it most: the rest would be paid for almost nothing.
ELIGIBLE_SHARE = 0.01
# A size aims this far inside the limit (pu for voltage, percentage points for loading),
# so that the independent check of the outcome is not decided by numerical noise.
_CLEARANCE = {"undervoltage": 1e-5, "overvoltage": 1e-5, "line_overload": 1e-3,
              "trafo_overload": 1e-3}
_STEP_KW = 0.1  # quantities are requested in steps of 0.1 kW or kVAr, rounded up


@dataclass(frozen=True)
class PodOnGrid:
    """A registered PoD as the DSO sees it: its bus and its max flexibility (kW, kVAr)
    each way (MARKET_RULES.md "Participants and places": {upperP, downP, upperQ, downQ})."""

    pod_id: str
    bus: int
    up_p_kw: float
    down_p_kw: float
    up_q_kvar: float
    down_q_kvar: float

    def max_flexibility(self, quantity_type: QuantityType, direction: Direction) -> float:
        """The PoD's max flexibility in kW (P) or kVAr (Q) in ``direction``."""
        if quantity_type == "P":
            return self.up_p_kw if direction == "up" else self.down_p_kw
        return self.up_q_kvar if direction == "up" else self.down_q_kvar


@dataclass(frozen=True)
class GridAlert:
    """The operator alert of a forecast violation (Platone A.3, L1430–1436): the issue
    type, the violated value and its limit at an asset, where it is answered and the
    flexibility that can contribute (kW or kVAr in ``direction``, 0 when no PoD under
    the grid point can ease it).

    A power flow that does not converge is alerted with kind ``no_convergence``, element
    -1 and value and limit 0, once per primary substation.
    """

    issue_type: IssueType
    kind: str  # a Violation kind, or "no_convergence"
    element: int  # bus, line or transformer index of the pandapower network
    value: float  # pu for voltage, % for loading
    limit: float
    mtu: int
    grid_point: str
    direction: Direction | None
    quantity_type: QuantityType
    flexibility: float  # kW (P) or kVAr (Q)

    @property
    def asset(self) -> str:
        what = {"undervoltage": "bus", "overvoltage": "bus", "line_overload": "line",
                "trafo_overload": "transformer"}.get(self.kind, "grid")
        return f"{what} {self.element}" if self.element >= 0 else what

    @property
    def unit(self) -> str:
        return "kW" if self.quantity_type == "P" else "kVAr"

    def describe(self) -> str:
        if self.kind == "no_convergence":
            return (f"MTU {self.mtu}, {self.grid_point}: {self.issue_type}: the power flow "
                    "did not converge")
        unit = "pu" if self.kind.endswith("voltage") else "%"
        return (f"MTU {self.mtu}, {self.grid_point}: {self.issue_type}, "
                f"{self.kind.replace('_', ' ')} at {self.asset}: {self.value:.4g} {unit} "
                f"(limit {self.limit:g} {unit}); flexibility that can contribute: "
                f"{self.direction or '-'} {self.flexibility:g} {self.unit}")


@dataclass(frozen=True)
class FlexNeed:
    """One DSO request to post (flow 2c): a grid point, the service, quantity type and
    direction, the eligible PoDs and a quantity per MTU (kW for P, kVAr for Q).

    The quantities are sized for delivery spread over ``pod_ids`` in proportion to their
    max flexibility in ``direction``. ``violations`` are what the need answers;
    ``notes`` say where it could not be sized as intended (beyond the PoDs' max
    flexibility, or not cleared within the power flows allowed); ``power_flows`` is how
    many sizing took over all its MTUs.
    """

    grid_point: str
    grid_point_kind: Literal["mv_feeder", "primary_substation"]
    service: Service
    quantity_type: QuantityType
    direction: Direction
    pod_ids: tuple[str, ...]
    quantities: dict[int, float]
    violations: tuple[str, ...]
    notes: tuple[str, ...] = ()
    power_flows: int = 0

    @property
    def unit(self) -> str:
        return "kW" if self.quantity_type == "P" else "kVAr"


def spread(pods: Sequence[PodOnGrid], quantity_type: QuantityType, direction: Direction,
           quantity: float) -> dict[int, complex]:
    """A total quantity spread over PoDs in proportion to their max flexibility, as the
    change of injection it makes per bus (MW + j MVAr; "up" injects, MARKET_RULES.md
    "Participants and places").

    Args:
        pods: the PoDs sharing it; their max flexibility in ``direction`` must sum > 0.
        quantity_type: "P" (kW) or "Q" (kVAr).
        direction: "up" or "down".
        quantity: the total, kW or kVAr.

    Returns:
        The injection change per pandapower bus, MW + j MVAr.
    """
    flex = [p.max_flexibility(quantity_type, direction) for p in pods]
    total = sum(flex)
    sign = 1.0 if direction == "up" else -1.0
    changes: dict[int, complex] = {}
    for pod, f in zip(pods, flex, strict=True):
        mw = sign * quantity * f / total / 1000.0
        s = complex(mw, 0.0) if quantity_type == "P" else complex(0.0, mw)
        changes[pod.bus] = changes.get(pod.bus, 0j) + s
    return changes


@dataclass
class _Found:
    """One violation of one MTU, where it is answered and who can ease it."""

    violation: Violation
    point: GridPoint
    service: Service
    quantity_type: QuantityType
    direction: Direction
    eligible: tuple[str, ...]

    @property
    def group(self) -> tuple[str, Service, QuantityType, Direction]:
        return (self.point.point_id, self.service, self.quantity_type, self.direction)


@dataclass
class _Group:
    point: GridPoint
    found: dict[int, list[_Found]] = field(default_factory=dict)  # per MTU
    pods: set[str] = field(default_factory=set)


class _Places:
    """Where violations are answered: a bus or line at its MV feeder (the primary
    substation for a busbar); a transformer at the feeder it supplies when its MV busbar
    feeds one feeder only, else at the primary substation of its lv bus (PoDs behind
    another transformer cannot ease it, and a need spread over them would be oversized)."""

    def __init__(self, pf: PowerFlow) -> None:
        net = pf.grid.net  # a copy: read once
        self.grid = pf.grid
        self.line_ends = {int(i): (int(f), int(t)) for i, f, t in
                          zip(net.line.index, net.line.from_bus, net.line.to_bus, strict=True)}
        self.trafo_lv = {int(i): int(b) for i, b in
                         zip(net.trafo.index, net.trafo.lv_bus, strict=True)}

    def of(self, violation: Violation) -> GridPoint:
        if violation.kind == "trafo_overload":
            buses = [self.trafo_lv[violation.element]]
            supplied = self.grid.feeders_at(buses[0])
            if len(supplied) == 1:
                return self.grid.point(supplied[0])
        else:
            buses = (list(self.line_ends[violation.element])
                     if violation.kind == "line_overload" else [violation.element])
            for bus in buses:
                feeder = self.grid.feeder_of(bus)
                if feeder is not None:
                    return self.grid.point(feeder)
        for ps in self.grid.of_kind("primary_substation"):
            if buses[0] in ps.buses:
                return ps
        raise GridError(f"{violation.describe()} is under no primary substation")


def _easing(pf: PowerFlow, result: FlowResult, violation: Violation,
            buses: np.ndarray, quantity_type: QuantityType) -> np.ndarray:
    """Magnitude eased per kW or kVAr injected ("up") at each bus: pu for voltage,
    percentage points for loading. Negative where an injection worsens it."""
    d_p, d_q = pf.sensitivity(result, violation, buses)
    d_value = (d_p if quantity_type == "P" else d_q) / 1000.0  # per kW, per kVAr
    # The magnitude grows with the value, except for undervoltage.
    return d_value if violation.kind == "undervoltage" else -d_value


def _classify(pf: PowerFlow, places: _Places, pods: Sequence[PodOnGrid], result: FlowResult,
              violation: Violation, voltage_quantity_type: QuantityType) -> _Found:
    point = places.of(violation)
    voltage = violation.kind.endswith("voltage")
    service: Service = "voltage" if voltage else "congestion"
    quantity_type: QuantityType = voltage_quantity_type if voltage else "P"
    under = [p for p in pods if p.bus in point.buses]
    # The direction follows the sign of the sensitivity at the PoDs under the grid point
    # (at the grid point's buses when it has none): the injection sign that eases it.
    buses = np.asarray(sorted({p.bus for p in under} or point.buses), dtype=np.int64)
    up = _easing(pf, result, violation, buses, quantity_type)
    direction: Direction = "up" if float(up.sum()) >= 0.0 else "down"
    sign = 1.0 if direction == "up" else -1.0
    per_bus = dict(zip(buses.tolist(), (sign * up).tolist(), strict=True))
    easing = {p.pod_id: per_bus[p.bus] for p in under}
    able = [p for p in under if p.max_flexibility(quantity_type, direction) > 0.0]
    best = max((easing[p.pod_id] for p in able), default=0.0)
    eligible = tuple(sorted(p.pod_id for p in able
                            if best > 0.0 and easing[p.pod_id] > ELIGIBLE_SHARE * best))
    return _Found(violation, point, service, quantity_type, direction, eligible)


def _round_up(quantity: float) -> float:
    """Up to the next 0.1 kW or kVAr (the tolerance absorbs float noise of exact steps)."""
    return round(math.ceil(quantity / _STEP_KW - 1e-9) * _STEP_KW, 1)


class _Sizing:
    """The size of one group's need in one MTU."""

    def __init__(self, pf: PowerFlow, places: _Places, limits: Limits, base_S: np.ndarray,
                 base: FlowResult, pods: Sequence[PodOnGrid], found: Sequence[_Found]) -> None:
        self.pf, self.places, self.limits = pf, places, limits
        self.base_S, self.base = base_S, base
        self.pods, self.found = pods, found
        first = found[0]
        self.point, self.quantity_type, self.direction = (
            first.point, first.quantity_type, first.direction)
        self.unit = "kW" if self.quantity_type == "P" else "kVAr"
        self.keys = {f.violation.key for f in found}
        self.kinds = {f.violation.kind for f in found}
        flex = np.asarray([p.max_flexibility(self.quantity_type, self.direction)
                           for p in pods])
        self.max_flexibility = float(flex.sum())
        self.weights = flex / self.max_flexibility
        self.buses = np.asarray([p.bus for p in pods], dtype=np.int64)
        self.flows = 0
        self.notes: list[str] = []

    def _spread_easing(self, result: FlowResult, violation: Violation) -> float:
        """Magnitude eased per kW or kVAr of the need, spread as it will be delivered."""
        up = _easing(self.pf, result, violation, self.buses, self.quantity_type)
        sign = 1.0 if self.direction == "up" else -1.0
        return float(sign * (self.weights @ up))

    def _steps(self, result: FlowResult, violations: Sequence[Violation]) -> list[float]:
        """The quantity clearing each violation to first order, for those the spread
        eases at ``result``'s operating point."""
        steps = []
        for v in violations:
            eases = self._spread_easing(result, v)
            if eases > 0.0:
                steps.append((v.magnitude + _CLEARANCE[v.kind]) / eases)
        return steps

    def _remaining(self, result: FlowResult) -> list[Violation]:
        """The group's violations left: its own, and any of its kinds now found at its
        grid point."""
        return [v for v in self.pf.violations(result, self.limits)
                if v.key in self.keys or (v.kind in self.kinds
                                          and self.places.of(v).point_id == self.point.point_id)]

    def _flow(self, quantity: float, start: FlowResult) -> FlowResult:
        self.flows += 1
        change = self.pf.injection(spread(self.pods, self.quantity_type, self.direction,
                                          quantity))
        return self.pf.solve(self.base_S + change, start.V)

    def run(self) -> float:
        """The quantity (kW or kVAr): the linear estimate, raised by each residual until a
        power flow confirms that nothing of the group is left.

        When a raise worsens a violation of the group (the spread overshoots one to ease
        another, a reverse flow say) raising further cannot clear the group: the size is
        the one whose power flow left the least. When the power flows allowed run out it
        is the last estimate; when one diverges, the last size that converged.
        """
        steps = self._steps(self.base, [f.violation for f in self.found])
        if not steps:
            self.notes.append("its PoDs, spread by max flexibility, do not ease it: "
                              "nothing asked")
            return 0.0
        quantity = _round_up(max(steps))
        before = {f.violation.key: f.violation.magnitude for f in self.found}
        # Per converged power flow: (worst magnitude left, quantity, result, what is left).
        solved: list[tuple[float, float, FlowResult, list[Violation]]] = []
        stop = "flows"
        while self.flows < MAX_SIZING_FLOWS:
            result = self._flow(quantity, solved[-1][2] if solved else self.base)
            if not result.converged:
                # Too far from the last operating point: halve the last step.
                stop = "diverged"
                quantity = _round_up(((solved[-1][1] if solved else 0.0) + quantity) / 2.0)
                continue
            remaining = self._remaining(result)
            solved.append((max((v.magnitude for v in remaining), default=0.0), quantity,
                           result, remaining))
            if not remaining:
                stop = "cleared"
                break
            worse = [v for v in remaining if v.magnitude > before.get(v.key, 0.0)]
            if worse:
                stop = f"more would worsen {worse[0].describe()}"
                break
            before = {v.key: v.magnitude for v in remaining}
            steps = self._steps(result, remaining)
            if not steps:
                stop = "its PoDs no longer ease what is left"
                break
            stop = "flows"
            quantity = _round_up(quantity + SIZING_MARGIN * max(steps))
        if stop == "cleared":
            self._note_side_effects(quantity, solved)
            return quantity
        if stop == "flows":
            left = solved[-1][3][0].describe()
            self.notes.append(f"not cleared within {self.flows} power flows ({left} left with "
                              f"{solved[-1][1]:g} {self.unit}): asking for the last estimate, "
                              f"{quantity:g} {self.unit}")
        elif solved:
            least = min(solved, key=lambda t: (t[0], t[1]))
            quantity = least[1] if stop != "diverged" else solved[-1][1]
            at = least if stop != "diverged" else solved[-1]
            why = "a larger size did not converge" if stop == "diverged" else stop
            left = at[3][0].describe() if at[3] else "nothing"
            self.notes.append(f"not cleared: {why}; asking for {quantity:g} {self.unit}, "
                              f"which leaves {left}")
        else:
            self.notes.append(f"not cleared: no power flow converged with it; asking for "
                              f"{quantity:g} {self.unit}, unconfirmed")
        self._note_side_effects(quantity, solved)
        return quantity

    def _note_side_effects(self, quantity: float,
                           solved: list[tuple[float, float, FlowResult, list[Violation]]]
                           ) -> None:
        """Notes on a size: beyond what the PoDs can give, or making other violations."""
        if quantity > self.max_flexibility + 1e-9:
            self.notes.append(f"needs {quantity:g} {self.unit}, beyond the eligible PoDs' "
                              f"max flexibility of {self.max_flexibility:g} {self.unit}: "
                              "the rest will be unserved")
        confirmed = [t for t in solved if t[1] == quantity]
        if confirmed:
            # What this need does elsewhere: the technical validation will hold its awards
            # to "no worse than without them", so the operator should know.
            known = {v.key: v.magnitude for v in self.pf.violations(self.base, self.limits)}
            worse = [v for v in self.pf.violations(confirmed[-1][2], self.limits)
                     if v.key not in self.keys and v.magnitude > known.get(v.key, 0.0) + 1e-6]
            if worse:
                self.notes.append(f"with it, {len(worse)} violation(s) outside this need "
                                  f"appear or worsen, first {worse[0].describe()}")


def find_needs(pf: PowerFlow, pods: Sequence[PodOnGrid], scenarios: Mapping[int, MtuScenario],
               limits: Limits, *, voltage_quantity_type: QuantityType = "Q"
               ) -> tuple[list[GridAlert], list[FlexNeed]]:
    """The alerts and flexibility requests of a forecast (Platone FR_DTP_ROF_3).

    Per MTU a power flow on the scenario; each violation is alerted and grouped by where it
    is answered (a bus or line at its MV feeder, a transformer at the feeder it supplies or
    its primary substation), the service (voltage, congestion), the quantity type and the
    direction that eases it. A group's eligible PoDs are those under its grid point that
    ease one of its violations by more than ``ELIGIBLE_SHARE`` of the best and have
    flexibility that way. Per MTU the need is the total quantity that, spread over them in
    proportion to their max flexibility, clears every violation of the group: a linear
    estimate, confirmed and corrected by at most ``MAX_SIZING_FLOWS`` power flows. It is
    asked for in full even beyond the PoDs' max flexibility (the market reports the rest
    unserved); a need not cleared in time keeps its last size and says so in ``notes``.

    Args:
        pf: the grid's power flow.
        pods: the registered PoDs on this grid, with their buses.
        scenarios: the forecast per MTU (by index of the delivery day).
        limits: voltage (pu) and loading (%) limits.
        voltage_quantity_type: what voltage is served with: "Q" (kVAr) or "P" (kW).

    Returns:
        The alerts (MTUs ascending, in the power flow's violation order), and one need
        per grid point, service, quantity type and direction over all MTUs, ordered by
        grid point, service, quantity type and direction. A group without an eligible PoD
        gets its alerts only (flexibility 0): there is no one to post it to.
    """
    alerts: list[GridAlert] = []
    groups: dict[tuple[str, Service, QuantityType, Direction], _Group] = {}
    bases: dict[int, tuple[np.ndarray, FlowResult]] = {}
    by_id = {p.pod_id: p for p in pods}
    places = _Places(pf)
    for mtu in sorted(scenarios):
        s = scenarios[mtu]
        S = pf.specified(s.load_scale, s.sgen_scale, pf.injection(s.changes))
        result = pf.solve(S)
        if not result.converged:
            # No value and no limit to report: the event says what happened, in numbers
            # that stay finite (an event refuses NaN).
            alerts += [GridAlert("voltage violation", "no_convergence", -1, 0.0, 0.0, mtu,
                                 ps.point_id, None, voltage_quantity_type, 0.0)
                       for ps in pf.grid.of_kind("primary_substation")]
            continue
        bases[mtu] = (S, result)
        for v in pf.violations(result, limits):
            f = _classify(pf, places, pods, result, v, voltage_quantity_type)
            available = sum(by_id[p].max_flexibility(f.quantity_type, f.direction)
                            for p in f.eligible)
            alerts.append(GridAlert(
                "voltage violation" if f.service == "voltage" else "congestion", v.kind,
                v.element, v.value, v.limit, mtu, f.point.point_id,
                f.direction if f.eligible else None, f.quantity_type, available))
            group = groups.setdefault(f.group, _Group(f.point))
            group.found.setdefault(mtu, []).append(f)
            group.pods.update(f.eligible)
    needs = []
    for key in sorted(groups):
        group = groups[key]
        if not group.pods:
            continue
        eligible = [by_id[p] for p in sorted(group.pods)]
        quantities: dict[int, float] = {}
        notes: list[str] = []
        answered: list[str] = []
        flows = 0
        for mtu, found in sorted(group.found.items()):
            S, base = bases[mtu]
            sizing = _Sizing(pf, places, limits, S, base, eligible, found)
            quantity = sizing.run()
            if quantity > 0:  # nothing to ask in an MTU its PoDs cannot ease
                quantities[mtu] = quantity
            flows += sizing.flows
            notes += [f"MTU {mtu}: {n}" for n in sizing.notes]
            answered += [f"MTU {mtu}: {f.violation.describe()}" for f in found]
        if not quantities:
            continue
        point_id, service, quantity_type, direction = key
        # _Places answers at a feeder or a primary substation only.
        kind = cast(Literal["mv_feeder", "primary_substation"], group.point.kind)
        needs.append(FlexNeed(point_id, kind, service, quantity_type, direction,
                              tuple(sorted(group.pods)), quantities, tuple(answered),
                              tuple(notes), flows))
    return alerts, needs
