"""Merit order: the simple baseline of MARKET_RULES.md "Clearing"."""

from __future__ import annotations

import time

from market.domain.clearing.greedy import decode
from market.domain.clearing.groups import flatten
from market.domain.clearing.problem import ClearingProblem, ClearingResult, PricingRule
from market.domain.clearing.solution import awards_of, finish, require_pricing


class MeritOrder:
    """DSO requests first, then TSO requests, each by request id; for each request and MTU
    its eligible offers cheapest first (ties: the more reliable PoD, then offer id and
    step). An all-or-nothing step is taken only if it fits whole; a flexible block is
    available in every MTU of its window up to its max power, drawing on its energy.
    """

    name = "merit_order"
    version = "1"

    def clear(self, problem: ClearingProblem, *,
              pricing: PricingRule = "pay_as_bid") -> ClearingResult:
        """Clear ``problem`` by merit order (Platone FR_MP_FS_3).

        Args:
            problem: the session's needs and offers.
            pricing: the pricing rule applied to the awards.

        Returns:
            The checked result; its front is its one solution.

        Raises:
            ClearingError: an unknown pricing rule, or (a bug) an infeasible solution.
        """
        require_pricing(pricing)
        started = time.perf_counter()
        flat = flatten(problem)
        allocations: list[tuple[int, float]] = []
        for group in flat.groups:
            pairs = group.pairs
            # A group's local pair index is its merit rank.
            allocations += [(int(pairs[i]), q)
                            for i, q in decode(group, range(group.size)).allocations]
        awards = awards_of(flat, allocations)
        return finish(flat, awards, engine=self.name, version=self.version, pricing=pricing,
                      statistics={"groups": len(flat.groups), "pairs": flat.pairs},
                      started=started)
