"""Clocks the market runs on: real time in production, simulated time in the demo and
tests (issue 4). Every process of one deployment builds the same clock from the settings,
so the API's gate checks and the scheduler's gate closures agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


def system_now() -> datetime:
    return datetime.now(UTC)


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return system_now()


@dataclass(frozen=True)
class SimulatedClock:
    """Time that was ``start`` at the real instant ``anchor`` and runs ``speed`` times as fast.

    Two processes given the same three values read the same time, without talking.
    """

    start: datetime
    anchor: datetime
    speed: float = 1.0
    real: Callable[[], datetime] = system_now

    def now(self) -> datetime:
        return self.start + (self.real() - self.anchor) * self.speed

    def real_seconds_until(self, moment: datetime) -> float:
        """How long, in real seconds, until the simulated clock reads ``moment``."""
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)


class ManualClock:
    """Time that moves only when told: for tests of rules that depend on the hour."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, by: timedelta) -> None:
        self._now += by
