"""Technical validation of a market outcome: per MTU, a power flow with the awards applied;
awards that cause or worsen a violation are cut, TSO before DSO, lowest value first
(MARKET_RULES.md "Technical validation"; Platone A.3 FR_DTP_ATV_1/2).

A violation already in the forecast without any award is the grid's own, not the
market's: awards are held to "no worse than without them", so the DSO's own request,
bought to ease a violation, is never cut for not removing it entirely. With no violation
caused or worsened every award is accepted (Platone's stated behaviour).

A cut is sized by the violated quantity's sensitivity to the award (an adjoint solve at
the current operating point), a little beyond the linear estimate, and checked by the
next power flow; so an award is cut only as far as the grid needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dso.domain.powerflow import FlowResult, Limits, PowerFlow, Violation

Status = Literal["accepted", "partially_accepted", "rejected"]
# Beyond the linear estimate a cut goes this much further, so that one more power flow
# usually confirms it rather than asking for a second cut.
CUT_MARGIN = 1.05
_QUANTITY_TOLERANCE = 1e-6  # kW or kVAr
# A violation counts as worsened by more than this (pu for voltage, % points for loading).
_WORSE = {"undervoltage": 1e-6, "overvoltage": 1e-6, "line_overload": 1e-4,
          "trafo_overload": 1e-4}


@dataclass(frozen=True)
class AwardToCheck:
    """One award of a market outcome as the DSO sees it: where it is delivered (``bus``,
    None for a PoD not on this grid), what it changes and how much it is worth."""

    award_id: str
    request_id: str
    offer_id: str
    pod_id: str
    mtu: int
    quantity: float  # kW (P) or kVAr (Q)
    direction: Literal["up", "down"]
    quantity_type: Literal["P", "Q"]
    role: Literal["DSO", "TSO"]
    value_cents: int
    bus: int | None

    def injection_mva(self, quantity: float) -> complex:
        return injection_mva(self.direction, self.quantity_type, quantity)


def injection_mva(direction: str, quantity_type: str, quantity: float) -> complex:
    """A PoD's flexibility as a change of its injection into the grid (MW + j MVAr) from
    ``quantity`` kW or kVAr: "up" lowers its net withdrawal (MARKET_RULES.md "Participants
    and places"), so it injects."""
    mw = (1.0 if direction == "up" else -1.0) * quantity / 1000.0
    return complex(mw, 0.0) if quantity_type == "P" else complex(0.0, mw)


@dataclass(frozen=True)
class Verdict:
    award_id: str
    request_id: str
    offer_id: str
    mtu: int
    accepted_quantity: float
    status: Status
    reason: str | None


@dataclass(frozen=True)
class MtuScenario:
    """The forecast of one MTU for customers outside the market: the network's loads and
    generators scaled, plus changes at buses (MW + j MVAr injected)."""

    load_scale: float = 1.0
    sgen_scale: float = 1.0
    changes: Mapping[int, complex] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationResult:
    verdicts: tuple[Verdict, ...]
    non_converged_mtus: tuple[int, ...]
    power_flows: int
    violations_without_awards: int  # over all MTUs: the grid's own
    violations_caused: int  # found with the awards before any cut


def cut_order(award: AwardToCheck) -> tuple[bool, int, str]:
    """TSO before DSO, lowest value first (MARKET_RULES.md "Technical validation")."""
    return (award.role != "TSO", award.value_cents, award.award_id)


class _Mtu:
    """The validation of one MTU."""

    def __init__(self, pf: PowerFlow, limits: Limits, awards: Sequence[AwardToCheck],
                 base: np.ndarray) -> None:
        self.pf, self.limits, self.base = pf, limits, base
        self.awards = sorted(awards, key=cut_order)
        self.accepted = {a.award_id: a.quantity for a in self.awards}
        self.reason: dict[str, str] = {}
        self.flows = 0

    def _solve(self, V: np.ndarray | None = None) -> FlowResult:
        self.flows += 1
        change = self.pf.injection({})
        for a in self.awards:
            q = self.accepted[a.award_id]
            if q > _QUANTITY_TOLERANCE and a.bus is not None:
                change += self.pf.injection({a.bus: a.injection_mva(q)})
        return self.pf.solve(self.base + change, V)

    def _worse(self, result: FlowResult, own: Mapping[tuple[str, int], float]
               ) -> list[tuple[float, Violation]]:
        found = []
        for v in self.pf.violations(result, self.limits):
            excess = v.magnitude - own.get(v.key, 0.0)
            if excess > _WORSE[v.kind]:
                found.append((excess, v))
        return sorted(found, key=lambda t: (-t[0], t[1].key))

    def _cut(self, award: AwardToCheck, quantity: float, why: str) -> None:
        self.accepted[award.award_id] = max(0.0, self.accepted[award.award_id] - quantity)
        self.reason.setdefault(award.award_id, why)

    def run(self, own: Mapping[tuple[str, int], float], max_rounds: int) -> int:
        """Cut until nothing is caused or worsened; returns the violations first caused."""
        for a in self.awards:
            if a.bus is None:
                self._cut(a, a.quantity, f"PoD {a.pod_id} is not on the DSO's grid")
        result = self._solve()
        first = len(self._worse(result, own)) if result.converged else 0
        for _ in range(max_rounds):
            if not result.converged:
                # No operating point to take sensitivities at: drop awards in cut order
                # until the grid has one again.
                active = [a for a in self.awards if self.accepted[a.award_id] > 0]
                if not active:
                    break
                self._cut(active[0], active[0].quantity,
                          "with it the power flow did not converge")
                result = self._solve()
                continue
            worse = self._worse(result, own)
            if not worse:
                return first
            excess, violation = worse[0]
            if not self._cut_for(result, violation, excess):
                break
            result = self._solve(result.V)
        # Out of rounds, or a violation no single award's cut eases: every award still
        # adverse to what remains goes.
        for a in self.awards:
            if self.accepted[a.award_id] > 0 and (not result.converged or self._worse(result, own)):
                self._cut(a, self.accepted[a.award_id], "the grid could not be made safe "
                          "with it")
        return first

    def _cut_for(self, result: FlowResult, violation: Violation, excess: float) -> bool:
        """Cut the first adverse award (in cut order) by what the violation needs."""
        active = [a for a in self.awards if self.accepted[a.award_id] > _QUANTITY_TOLERANCE]
        if not active:
            return False
        buses = np.asarray([a.bus for a in active], dtype=np.int64)
        d_p, d_q = self.pf.sensitivity(result, violation, buses)
        # The violation's magnitude grows with the voltage for overvoltage and loading,
        # and shrinks with it for undervoltage.
        sign = -1.0 if violation.kind == "undervoltage" else 1.0
        for a, dp, dq in zip(active, d_p.tolist(), d_q.tolist(), strict=True):
            per_kw = a.injection_mva(1.0)
            effect = sign * (dp * per_kw.real + dq * per_kw.imag)  # magnitude per kW
            if effect > 1e-12:
                cut = min(self.accepted[a.award_id], CUT_MARGIN * excess / effect)
                self._cut(a, cut, f"it causes or worsens {violation.describe()}")
                return True
        return False

    def verdicts(self) -> list[Verdict]:
        out = []
        for a in self.awards:
            q = self.accepted[a.award_id]
            if q >= a.quantity - _QUANTITY_TOLERANCE:
                status: Status = "accepted"
                q = a.quantity
            elif q <= _QUANTITY_TOLERANCE:
                status, q = "rejected", 0.0
            else:
                status = "partially_accepted"
            out.append(Verdict(a.award_id, a.request_id, a.offer_id, a.mtu, q, status,
                               None if status == "accepted" else self.reason.get(a.award_id)))
        return out


def validate(pf: PowerFlow, awards: Sequence[AwardToCheck],
             scenario: Callable[[int], MtuScenario], limits: Limits | None = None,
             *, max_rounds_per_award: int = 3) -> ValidationResult:
    """Check a market outcome against the grid, MTU by MTU.

    Args:
        pf: the grid's power flow.
        awards: every award of the outcome.
        scenario: the forecast of an MTU (by index of the delivery day).
        limits: voltage and loading limits (default ``Limits()``).
        max_rounds_per_award: cuts tried per award of an MTU before every award still
            adverse is rejected.

    Returns:
        One verdict per award (in cut order per MTU, MTUs ascending); the MTUs whose
        power flow did not converge even without awards, where every award is rejected
        and nothing is passed unchecked.
    """
    limits = limits or Limits()
    by_mtu: dict[int, list[AwardToCheck]] = {}
    for a in awards:
        by_mtu.setdefault(a.mtu, []).append(a)
    verdicts: list[Verdict] = []
    non_converged: list[int] = []
    flows = own_count = caused = 0
    for mtu in sorted(by_mtu):
        s = scenario(mtu)
        base = pf.specified(s.load_scale, s.sgen_scale, pf.injection(s.changes))
        without = pf.solve(base)
        flows += 1
        if not without.converged:
            non_converged.append(mtu)
            verdicts += [Verdict(a.award_id, a.request_id, a.offer_id, mtu, 0.0, "rejected",
                                 f"the power flow of MTU {mtu} did not converge "
                                 f"({without.iterations} iterations): nothing is validated "
                                 "unchecked") for a in sorted(by_mtu[mtu], key=cut_order)]
            continue
        own = {v.key: v.magnitude for v in pf.violations(without, limits)}
        own_count += len(own)
        check = _Mtu(pf, limits, by_mtu[mtu], base)
        caused += check.run(own, max_rounds_per_award * len(by_mtu[mtu]) + 5)
        flows += check.flows
        verdicts += check.verdicts()
    return ValidationResult(tuple(verdicts), tuple(non_converged), flows, own_count, caused)
