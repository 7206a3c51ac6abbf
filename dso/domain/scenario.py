"""The DSO's forecast of its grid for a delivery day, MTU by MTU: the network's own loads
and generators scaled by a typical daily load shape and the clear-sky PV curve (Platone
A.3 forecasting tool: "standard typical profiles" for customers outside the market).

The network's loads stand for everyone connected, market customers included: an award
is a change against that forecast, as a PoD's baseline is (MARKET_RULES.md "Settlement").
Every generator follows the PV curve; a grid with wind farms is forecast as if they were
PV, which is said here because it errs on the sunny side.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

from dso.domain.forecast import day_type, pv_profile
from dso.domain.validation import MtuScenario
from market.domain.calendar import delivery_mtus

# A mixed residential and commercial MV feeder, hourly, as a share of its peak (the evening
# peak of Italian households; the shape of typical 15-minute profiles of Italian DSOs).
LOAD_SHAPE = (0.52, 0.47, 0.44, 0.43, 0.44, 0.50, 0.62, 0.76, 0.84, 0.85, 0.85, 0.86,
              0.84, 0.80, 0.78, 0.78, 0.82, 0.90, 0.98, 1.00, 0.97, 0.88, 0.75, 0.62)
DAY_TYPE_FACTOR = {"weekday": 1.0, "saturday": 0.9, "holiday": 0.8}


def day_scenarios(day: date, zone: ZoneInfo, *, load_scale: float = 1.0,
                  sgen_scale: float = 1.0) -> list[MtuScenario]:
    """The forecast of every MTU of ``day`` (92, 96 or 100 of them).

    Args:
        day: the delivery day.
        zone: the calendar's time zone (the load shape follows the local clock).
        load_scale: the network's loads at the day's peak, as a multiple of their rated
            values (raise it to study a heavier day).
        sgen_scale: the generators at a clear-sky noon, as a multiple of their rated values.

    Returns:
        One scenario per MTU, indexed as the delivery day's MTUs.
    """
    mtus = delivery_mtus(day, zone)
    factor = DAY_TYPE_FACTOR[day_type(day)] * load_scale
    pv = pv_profile(1.0, day, zone)
    hours = np.arange(25)
    shape = np.r_[LOAD_SHAPE, LOAD_SHAPE[0]]
    out = []
    for k, m in enumerate(mtus):
        local = m.start.astimezone(zone)
        hour = local.hour + (local.minute + 7.5) / 60.0  # the quarter-hour's middle
        out.append(MtuScenario(load_scale=float(np.interp(hour, hours, shape)) * factor,
                               sgen_scale=float(pv[k]) * sgen_scale))
    return out
