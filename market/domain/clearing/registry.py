"""The clearing engines by name (STYLE.md: alternatives are registered classes with a
``name`` and ``version`` that MarketCleared records)."""

from __future__ import annotations

from typing import Any, Protocol

from market.domain.clearing.errors import ClearingError
from market.domain.clearing.merit_order import MeritOrder
from market.domain.clearing.milp import Milp
from market.domain.clearing.nsga2 import Nsga2
from market.domain.clearing.problem import ClearingProblem, ClearingResult, PricingRule


class Clearer(Protocol):
    name: str
    version: str

    def clear(self, problem: ClearingProblem, *,
              pricing: PricingRule = "pay_as_bid") -> ClearingResult: ...


CLEARERS: dict[str, type[Clearer]] = {"nsga2": Nsga2, "milp": Milp, "merit_order": MeritOrder}


def get_clearer(name: str, **options: Any) -> Clearer:
    """The engine registered as ``name``, built with ``options``.

    Args:
        name: ``"nsga2"``, ``"milp"`` or ``"merit_order"``.
        **options: the engine's constructor options (e.g. NSGA-II's ``population``,
            ``generations``, ``seed``).

    Raises:
        ClearingError: an unknown engine (naming the known ones) or options it rejects.
    """
    engine = CLEARERS.get(name)
    if engine is None:
        raise ClearingError(f"unknown clearing engine {name!r}; known: {', '.join(CLEARERS)}")
    try:
        return engine(**options)
    except TypeError as exc:
        raise ClearingError(f"clearing engine {name!r} rejects options "
                            f"{sorted(options)}: {exc}") from exc
