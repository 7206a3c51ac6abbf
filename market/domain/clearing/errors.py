"""The clearing engines' own errors: a solution that breaks a rule, or a solver that failed.

They stay in the domain (no ledger error codes): the clearing processor catches
``ClearingError`` and clears by merit order instead.
"""

from __future__ import annotations


class ClearingError(Exception):
    """Base of every clearing failure (an unknown engine, a failed solver, a broken rule)."""


class InfeasibleSolution(ClearingError):
    """A solution breaks a clearing rule (MARKET_RULES.md "Clearing"); the message names
    the rule, the request or offer and the MTU."""


class SolverFailed(ClearingError):
    """An exact solver gave no usable answer, even after a retry with presolve off."""
