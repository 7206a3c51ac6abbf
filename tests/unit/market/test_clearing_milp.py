"""The MILP reference never trusts HiGHS's status alone (notes/milp-pitfalls.md): a stage
declared infeasible is retried with presolve off, a stage with no answer fails loudly, and
a solution that breaks a rule is caught before it is returned."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import market.domain.clearing.milp as milp_module
from market.domain.clearing.errors import ClearingError, InfeasibleSolution, SolverFailed
from market.domain.clearing.milp import Milp
from market.domain.clearing.problem import Bid, ClearingProblem, Need, Step

REAL_MILP = milp_module.milp
PROBLEM = ClearingProblem("DA-TEST", (
    Need("R-DSO", "DSO-1", "DSO", "up", "P", frozenset({"P1", "P2"}), {10: 10.0}),
    Need("R-TSO", "TSO-1", "TSO", "up", "P", frozenset({"P1"}), {10: 5.0})), (
    Bid("O1", "AGG-1", "P1", "up", "P", (Step(10, 10.0, 50.0),)),
    Bid("O2", "AGG-1", "P2", "up", "P", (Step(10, 10.0, 100.0),))))


def test_fr_mp_fs_3_lexicographic_optimum_dso_then_tso_then_cost() -> None:
    result = Milp().clear(PROBLEM)
    assert (result.objectives.unserved_dso, result.objectives.unserved) == (0.0, 0.0)
    assert result.objectives.cost_eur == pytest.approx((5 * 50 + 5 * 100 + 5 * 50) * 0.25 / 1000)
    assert result.statistics["solves"] == 3
    assert result.statistics["presolve_retries"] == 0


def test_a_stage_declared_infeasible_is_retried_without_presolve(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def infeasible_with_presolve(c: np.ndarray, **kwargs: Any) -> Any:
        if kwargs["options"]["presolve"]:
            return SimpleNamespace(x=None, status=2, message="infeasible (presolve)")
        return REAL_MILP(c, **kwargs)

    monkeypatch.setattr(milp_module, "milp", infeasible_with_presolve)
    result = Milp().clear(PROBLEM)
    assert result.statistics["presolve_retries"] == 3
    assert result.objectives.unserved == 0.0


def test_a_stage_without_an_answer_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp_module, "milp", lambda c, **kwargs: SimpleNamespace(
        x=None, status=4, message="numerical trouble"))
    with pytest.raises(SolverFailed, match="numerical trouble"):
        Milp().clear(PROBLEM)


def test_an_optimal_status_breaking_a_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver answering "optimal" with every variable at its bound gives O1 to both
    requests, 10 + 5 kW of a 10 kW step; the plain-Python check refuses it."""
    def overshooting(c: np.ndarray, **kwargs: Any) -> Any:
        result = REAL_MILP(c, **kwargs)
        return SimpleNamespace(x=kwargs["bounds"].ub.copy(), status=0, message=result.message)

    monkeypatch.setattr(milp_module, "milp", overshooting)
    with pytest.raises(InfeasibleSolution, match=r"O1 .* awarded 15\.0, it offers 10\.0"):
        Milp().clear(PROBLEM)


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ClearingError, match="time_limit"):
        Milp(time_limit=0)
    with pytest.raises(ClearingError, match="cost_rel_gap"):
        Milp(cost_rel_gap=1.5)
