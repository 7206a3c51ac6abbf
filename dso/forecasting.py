"""The forecast of a session's MTUs as the DSO's processors use it, for its requests and
its validation alike: the grid's day scenario, and for a real-time session (the next 4
hours) the day-ahead awards applied at their PoDs' buses and the state estimated from the
latest readings, fading back to the profile (the digest's RT scenario: "DA-accepted
flexibility services in place of the baselines")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from dso.domain.estimation import fading_changes, forecast_withdrawal
from dso.domain.grid import Grid, UnknownGridPoint
from dso.domain.requests import PodOnGrid
from dso.domain.scenario import day_scenarios
from dso.domain.validation import MtuScenario, injection_mva
from dso.state import current_state
from ledger.settings import Settings
from market.domain.calendar import MTU, SessionKind, SessionSlot, delivery_mtus, session_id
from market.store import queries


def pods_on_grid(conn: Connection, grid: Grid) -> list[PodOnGrid]:
    """The registered PoDs the DSO can place on its grid."""
    placed = []
    for v in queries.active_pods(conn):
        try:
            bus = grid.locate(v.primary_substation, v.mv_feeder, v.secondary_substation)
        except UnknownGridPoint:
            continue
        placed.append(PodOnGrid(pod_id=v.pod_id, bus=bus, up_p_kw=v.up_p_kw,
                                down_p_kw=v.down_p_kw, up_q_kvar=v.up_q_kvar,
                                down_q_kvar=v.down_q_kvar))
    return placed


def session_scenarios(conn: Connection, settings: Settings, grid: Grid, slot: SessionSlot,
                      now: datetime) -> dict[int, MtuScenario]:
    """The forecast of every MTU ``slot`` delivers, as known at ``now``."""
    zone = ZoneInfo(settings.time_zone)
    day = day_scenarios(slot.delivery_day, zone, load_scale=settings.dso_load_scale,
                        sgen_scale=settings.dso_sgen_scale)
    mtus = range(slot.first_mtu, slot.first_mtu + slot.mtu_count)
    changes: dict[int, dict[int, complex]] = {m: {} for m in mtus}
    if slot.kind is SessionKind.REAL_TIME:
        bus_of = {p.pod_id: p.bus for p in pods_on_grid(conn, grid)}
        awarded = queries.awarded_capacity(
            conn, session_id(SessionKind.DAY_AHEAD, slot.delivery_day))
        for (pod, direction, quantity_type, mtu), quantity in awarded.items():
            if pod in bus_of and slot.covers(mtu):
                at = changes[mtu]
                at[bus_of[pod]] = at.get(bus_of[pod], 0j) + injection_mva(
                    direction, quantity_type, quantity)
        state = current_state(conn, settings, grid, now)
        estimate = state.estimate
        if estimate.converged and estimate.measured_buses:
            deviation = estimate.deviation_mva(forecast_withdrawal(grid, state.scenario))
            starts = {m.index: m.start for m in delivery_mtus(slot.delivery_day, zone)}
            elapsed = {m: (starts[m] - now) / MTU for m in mtus}
            for m, seeded in fading_changes(deviation, elapsed).items():
                for bus, s in seeded.items():
                    changes[m][bus] = changes[m].get(bus, 0j) + s
    return {m: MtuScenario(day[m].load_scale, day[m].sgen_scale, changes[m]) for m in mtus}
