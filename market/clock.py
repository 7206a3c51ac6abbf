"""The market clock a deployment configures (``FLEXMARKET_CLOCK…`` settings)."""

from __future__ import annotations

from ledger.errors import Rejected
from ledger.settings import Settings
from market.domain.clock import Clock, SimulatedClock, SystemClock


def build_clock(settings: Settings) -> Clock:
    """Real time, or the simulated clock every process of the deployment shares.

    Raises:
        Rejected: a simulated clock without ``CLOCK_START`` and ``CLOCK_ANCHOR``.
    """
    if settings.clock == "system":
        return SystemClock()
    if settings.clock_start is None or settings.clock_anchor is None:
        raise Rejected("a simulated clock needs FLEXMARKET_CLOCK_START and "
                       "FLEXMARKET_CLOCK_ANCHOR", code="CLOCK_SETTINGS", field="clock_start")
    return SimulatedClock(start=settings.clock_start, anchor=settings.clock_anchor,
                          speed=settings.clock_speed)
