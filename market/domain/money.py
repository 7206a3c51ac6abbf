"""What flexibility is worth, in integer euro cents (STYLE.md: money is never float)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from market.domain.clearing.problem import MTU_HOURS


def value_cents(quantity: float, price_eur_per_mwh: float) -> int:
    """What ``quantity`` kW (kVAr) for one MTU is worth at ``price_eur_per_mwh``, in cents.

    Rounded half-to-even on the decimal value, so the same award is worth the same
    everywhere it is computed.
    """
    euros = (Decimal(repr(quantity)) * Decimal(repr(MTU_HOURS))
             * Decimal(repr(price_eur_per_mwh)) / Decimal(1000))
    return int((euros * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
