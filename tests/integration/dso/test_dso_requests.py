"""The DSO's flexibility requests on the real stack (Platone FR_DTP_ROF_3, flow 2c): when
the day-ahead session opens, the forecast's power flows find CIGRE MV overloaded at the
evening peak of a heavy day; the DSO raises alerts and posts requests for the PoDs under
the overloaded grid points, through the market's arrival rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ledger.settings import Settings
from ledger.store.models import EventRow
from market.domain.calendar import find_session
from market.store.models import FlexRequestRow
from tests.builders import DA_OPEN_AT, DA_SESSION
from tests.integration.market.harness import Market, running_market

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SPEED = 4.0
FEEDER_PODS = {"PS-1-F1": {"POD-000001", "POD-000002", "POD-000004"},
               "PS-1-F2": {"POD-000003"}}
# The worker starts 20 simulated seconds before the DA gate opens (12:00 in Rome).
OPENS_AT = DA_OPEN_AT - timedelta(hours=3)


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("dso-requests"), clock="simulated",
                        clock_start=OPENS_AT - timedelta(seconds=20),
                        clock_anchor=datetime.now(UTC), clock_speed=SPEED,
                        dso_load_scale=1.3, processors="all") as running:
        yield running


def test_fr_dtp_rof_3_dso_posts_requests_for_forecast_violations(market: Market) -> None:
    dso_requests = select(func.count()).select_from(FlexRequestRow).where(
        FlexRequestRow.requester_id == "DSO-ARETI")
    market.worker.wait_until(lambda: _count(market, dso_requests) > 0,
                             what="the DSO's requests", timeout_s=90)
    slot = find_session(DA_SESSION)
    assert slot is not None
    with market.engine.connect() as conn:
        requests = conn.execute(select(FlexRequestRow).where(
            FlexRequestRow.requester_id == "DSO-ARETI")).all()
        alerts = conn.execute(select(EventRow).where(EventRow.type == "GridAlertRaised")).all()
    assert alerts, "every request answers an alert"
    assert {a.payload["issue_type"] for a in alerts} <= {"congestion", "voltage violation"}
    assert any(a.payload["asset"].startswith(("line", "transformer")) for a in alerts)
    assert {r.location_id for r in requests} == {"PS-1-F1", "PS-1-F2"}
    for r in requests:
        assert r.session_id == DA_SESSION and r.role == "DSO"
        # Each transformer supplies one feeder: its overload is that feeder's, and only
        # the PoDs on it are eligible (POD-000003 is the one on F2).
        assert r.location_kind == "mv_feeder"
        assert set(r.eligible_pods) <= FEEDER_PODS[r.location_id]
        mtus = [q["mtu"] for q in r.quantities]
        assert mtus and all(slot.covers(m) for m in mtus)
        assert all(q["quantity"] > 0 for q in r.quantities)
    # Posted while the session was open: clearing will consider them.
    assert all(r.submitted_at.replace(tzinfo=UTC) < slot.gate_closes_at for r in requests)


def _count(market: Market, query: object) -> int:
    with market.engine.connect() as conn:
        return int(conn.scalar(query) or 0)  # type: ignore[call-overload]
