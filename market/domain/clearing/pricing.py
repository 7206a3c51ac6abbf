"""What requesters pay for their awards (MARKET_RULES.md "Clearing", "Pricing").

Pricing is applied after the solution is chosen; engines optimise cost at bid prices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import get_args

from market.domain.clearing.errors import ClearingError
from market.domain.clearing.problem import Award, PricingRule

PRICING_RULES: tuple[str, ...] = get_args(PricingRule)


def apply_pricing(awards: Iterable[Award], rule: PricingRule) -> tuple[Award, ...]:
    """``awards`` with the price each requester pays, in €/MWh.

    Args:
        awards: awards with their ``bid_price_eur_per_mwh``.
        rule: ``"pay_as_bid"`` (each award at its own bid price) or ``"pay_as_clear"``
            (per request and MTU, every award at the highest bid price accepted for it).

    Returns:
        The awards, in the given order, with ``price_eur_per_mwh`` set.

    Raises:
        ClearingError: for an unknown rule.
    """
    awards = tuple(awards)
    if rule == "pay_as_bid":
        return tuple(replace(a, price_eur_per_mwh=a.bid_price_eur_per_mwh) for a in awards)
    if rule == "pay_as_clear":
        clearing: dict[tuple[str, int], float] = {}
        for a in awards:
            key = (a.request_id, a.mtu)
            clearing[key] = max(clearing.get(key, a.bid_price_eur_per_mwh),
                                a.bid_price_eur_per_mwh)
        return tuple(replace(a, price_eur_per_mwh=clearing[a.request_id, a.mtu])
                     for a in awards)
    raise ClearingError(f"unknown pricing rule {rule!r}; known: {', '.join(PRICING_RULES)}")
