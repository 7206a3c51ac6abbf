"""The exact reference: the lexicographic clearing goal solved as successive MILPs with
scipy's HiGHS (MARKET_RULES.md "Clearing", notes/milp-pitfalls.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from market.domain.clearing.errors import ClearingError, SolverFailed
from market.domain.clearing.groups import Group, flatten
from market.domain.clearing.problem import (
    MTU_HOURS,
    QUANTITY_TOLERANCE,
    ClearingProblem,
    ClearingResult,
    PricingRule,
)
from market.domain.clearing.solution import awards_of, finish, require_pricing


@dataclass
class _Model:
    """One batch of groups as a MILP. Variables: one per pair (a binary "taken whole" for an
    all-or-nothing step, otherwise kW), then one per need slot: the kW it is served. The
    served variables keep the stage objectives and the rows holding earlier optima short
    (a dense holding row over every pair slowed HiGHS's cut rounds tenfold)."""

    pairs: np.ndarray  # global pair per pair variable
    kw: np.ndarray  # kW per unit of a pair variable (the step for a binary, else 1)
    upper: np.ndarray  # upper bound of every variable
    integral: np.ndarray  # 1 for binaries
    need_dso: np.ndarray  # bool per served variable
    cost: np.ndarray  # objective of stage 3 per variable (milli-euro)
    matrix: csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)


# Stage 3 minimises cost in milli-euro: € per kW·MTU are ~1e-5 to 1e-1, which HiGHS calls
# "excessively small".
_COST_SCALE = 1000.0


def _model(groups: Sequence[Group]) -> _Model:
    n_pairs = sum(g.size for g in groups)
    pair_parts, kw_parts, upper_parts, aon_parts, cost_parts = [], [], [], [], []
    need_upper, need_dso = [], []
    rows_i, rows_j, rows_v, row_lower, row_upper = [], [], [], [], []
    offset, need_offset, n_rows = 0, n_pairs, 0

    def add_rows(keys: np.ndarray, coef: np.ndarray, limits: np.ndarray,
                 wanted: np.ndarray) -> None:
        """One row per key in ``wanted``: Σ coef·variable over the pairs with that key."""
        nonlocal n_rows
        row_of = np.full(len(limits), -1, dtype=np.int64)
        row_of[wanted] = n_rows + np.arange(len(wanted))
        use = row_of[keys] >= 0
        rows_i.append(row_of[keys][use])
        rows_j.append(offset + np.flatnonzero(use))
        rows_v.append(coef[use])
        row_lower.append(np.full(len(wanted), -np.inf))
        row_upper.append(limits[wanted])
        n_rows += len(wanted)

    for g in groups:
        n, k = g.size, len(g.need_qty)
        slot_qty = g.slot_qty[g.slot]
        kw = np.where(g.aon, slot_qty, 1.0)
        upper = np.where(g.aon, 1.0, np.minimum.reduce([
            slot_qty, g.need_qty[g.need], g.cap_qty[g.cap], g.energy_qty[g.energy]]))
        reach = np.where(g.aon, slot_qty, upper)  # kW a pair can carry at most
        pair_parts.append(g.pairs)
        kw_parts.append(kw)
        upper_parts.append(upper)
        aon_parts.append(g.aon.astype(np.uint8))
        cost_parts.append(kw * g.price * (MTU_HOURS / 1000 * _COST_SCALE))
        # Per need slot: Σ kW awarded − served = 0, served ≤ requested (never over-serve).
        rows_i += [n_rows + g.need, n_rows + np.arange(k)]
        rows_j += [offset + np.arange(n), need_offset + np.arange(k)]
        rows_v += [kw, -np.ones(k)]
        row_lower.append(np.zeros(k))
        row_upper.append(np.zeros(k))
        n_rows += k
        need_upper.append(g.need_qty)
        need_dso.append(g.need_dso)
        # Per offer slot shared by several pairs: within the step (an all-or-nothing step
        # to one need at most: Σ binaries ≤ 1) or the block's max power.
        shared = np.flatnonzero(np.bincount(g.slot, minlength=len(g.slot_qty)) > 1)
        add_rows(g.slot, np.ones(n), np.where(_slot_aon(g), 1.0, g.slot_qty), shared)
        # PoD capacities and block energies, where the pairs could exceed them.
        for keys, limits in ((g.cap, g.cap_qty), (g.energy, g.energy_qty)):
            reachable = np.bincount(keys, weights=reach, minlength=len(limits))
            binding = np.flatnonzero(reachable > limits)
            binding = binding[binding > 0]
            add_rows(keys, kw, limits, binding)
        offset += n
        need_offset += k

    def cat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    n_needs = need_offset - n_pairs
    matrix = csr_array((cat(rows_v), (cat(rows_i, np.int64), cat(rows_j, np.int64))),
                       shape=(n_rows, need_offset))
    return _Model(pairs=cat(pair_parts, np.int64), kw=cat(kw_parts),
                  upper=np.r_[cat(upper_parts), cat(need_upper)],
                  integral=np.r_[cat(aon_parts, np.uint8), np.zeros(n_needs, np.uint8)],
                  need_dso=cat(need_dso, bool), cost=np.r_[cat(cost_parts), np.zeros(n_needs)],
                  matrix=matrix, row_lower=cat(row_lower), row_upper=cat(row_upper))


def _slot_aon(g: Group) -> np.ndarray:
    aon = np.zeros(len(g.slot_qty), dtype=bool)
    aon[g.slot[g.aon]] = True
    return aon


class Milp:
    """Exact clearing: per batch of groups, (1) maximise the DSO quantity served, (2) with
    that held exactly, maximise the TSO quantity served, (3) with both held, minimise cost
    at bid prices (MARKET_RULES.md "Clearing"; Platone A.1 for DSO priority).

    Each stage holds the earlier optimum as a bound at the value found, never with a
    slack; a stage that fails or is declared infeasible is retried with presolve off
    (notes/milp-pitfalls.md). The answer is re-checked in plain Python.

    Args:
        time_limit: seconds per MILP solve at most (None: no limit); a solve that stops
            at it gives its best solution so far, counted in ``statistics``.
        mip_rel_gap: HiGHS's relative optimality gap in the served-quantity stages (its
            default, 1e-4, let a 10,000-offer session leave 3.5 kW·MTU more unserved).
        cost_rel_gap: the relative gap of the cost stage, the slow one on large sessions.
        batch_pairs: small groups are solved together up to this many pairs (exact: the
            goal is a sum over groups); a larger group is solved alone.
    """

    name = "milp"
    version = "1"

    def __init__(self, *, time_limit: float | None = None, mip_rel_gap: float = 1e-7,
                 cost_rel_gap: float = 1e-6, batch_pairs: int = 2000) -> None:
        if time_limit is not None and time_limit <= 0:
            raise ClearingError(f"time_limit must be positive seconds, not {time_limit}")
        for name, gap in (("mip_rel_gap", mip_rel_gap), ("cost_rel_gap", cost_rel_gap)):
            if not 0 <= gap < 1:
                raise ClearingError(f"{name} must be in [0, 1), not {gap}")
        self.time_limit = time_limit
        self.mip_rel_gap = mip_rel_gap
        self.cost_rel_gap = cost_rel_gap
        self.batch_pairs = max(1, int(batch_pairs))

    def clear(self, problem: ClearingProblem, *,
              pricing: PricingRule = "pay_as_bid") -> ClearingResult:
        """Clear ``problem`` exactly (Platone FR_MP_FS_3).

        Args:
            problem: the session's needs and offers.
            pricing: the pricing rule applied to the awards.

        Returns:
            The checked optimum; its front is that one point.

        Raises:
            SolverFailed: HiGHS gave no solution to a stage, even with presolve off.
            InfeasibleSolution: the solution breaks a rule (it is never returned).
            ClearingError: an unknown pricing rule.
        """
        require_pricing(pricing)
        started = time.perf_counter()
        flat = flatten(problem)
        stats = {"solves": 0, "presolve_retries": 0, "time_limited": 0, "variables": 0,
                 "binaries": 0, "constraints": 0, "batches": 0}
        allocations: list[tuple[int, float]] = []
        for batch in self._batches(flat.groups):
            allocations += self.solve(_model(batch), stats)
        awards = awards_of(flat, allocations)
        return finish(flat, awards, engine=self.name, version=self.version, pricing=pricing,
                      statistics={"groups": len(flat.groups), "pairs": flat.pairs, **stats},
                      started=started)

    def _batches(self, groups: Sequence[Group]) -> list[list[Group]]:
        batches: list[list[Group]] = []
        size = self.batch_pairs
        for g in groups:
            if size + g.size > self.batch_pairs:
                batches.append([])
                size = 0
            batches[-1].append(g)
            size += g.size
        return batches

    def solve(self, m: _Model, stats: dict[str, int]) -> list[tuple[int, float]]:
        """The (global pair, kW) allocation of one batch's lexicographic optimum."""
        n, total = m.n_pairs, len(m.upper)
        stats["batches"] += 1
        stats["variables"] += total
        stats["binaries"] += int(m.integral.sum())
        stats["constraints"] += m.matrix.shape[0]
        bounds = Bounds(np.zeros(total), m.upper)
        rows = [LinearConstraint(m.matrix, m.row_lower, m.row_upper)]
        x = np.zeros(total)
        # Stages 1 and 2: the DSO quantity served, then the TSO's, each then held at the
        # value found (a bound, no slack: notes/milp-pitfalls.md).
        for role in (m.need_dso, ~m.need_dso):
            if not role.any():
                continue
            weights = np.r_[np.zeros(n), role.astype(float)]
            x = self._stage(-weights, rows, bounds, m.integral, self.mip_rel_gap, stats)
            rows.append(LinearConstraint(csr_array(weights.reshape(1, -1)),
                                         float(weights @ x), np.inf))
        # Stage 3: least cost at bid prices.
        x = self._stage(m.cost, rows, bounds, m.integral, self.cost_rel_gap, stats)[:n]
        binary = m.integral[:n].astype(bool)
        quantity = np.where(binary, np.round(x) * m.kw, np.clip(x, 0.0, m.upper[:n]))
        return [(int(p), float(q)) for p, q in zip(m.pairs, quantity, strict=True)
                if q > QUANTITY_TOLERANCE]

    def _stage(self, objective: np.ndarray, rows: list[LinearConstraint], bounds: Bounds,
               integral: np.ndarray, gap: float, stats: dict[str, int]) -> np.ndarray:
        options: dict[str, float | bool] = {"mip_rel_gap": gap}
        if self.time_limit is not None:
            options["time_limit"] = self.time_limit
        for presolve in (True, False):
            stats["solves"] += 1
            result = milp(objective, constraints=rows, integrality=integral, bounds=bounds,
                          options={**options, "presolve": presolve})
            if result.x is not None and result.status in (0, 1):
                stats["time_limited"] += int(result.status == 1)
                return np.asarray(result.x, dtype=float)
            if presolve:
                stats["presolve_retries"] += 1
        raise SolverFailed(f"HiGHS found no solution to a clearing stage "
                           f"({len(objective)} variables): status {result.status}, "
                           f"{result.message}")
