"""The shared customer database's own publications on a simulated clock: each silent
quarter-hour of an enrolled PoD published as missing (FR_SCD_PD_3), then the day's
bundle for settlement (FR_SCD_PDA_1/2) once the day ended and its grace passed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from access_layer.domain.events import LightNodeEnrolled, MeterReadingCertified
from access_layer.domain.light_node import LightNode
from access_layer.store.models import MeteringDayRow, MissingReadingRow
from ledger.catalog import new_event
from ledger.settings import Settings
from tests.integration.market.harness import running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 25)
DAY_END = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # local midnight in Rome (UTC+1)
ENROLLED = DAY_END - timedelta(hours=2)
NODE = LightNode.from_seed("publication")


def test_fr_scd_pd_3_silent_quarter_hours_are_missing_and_the_day_is_bundled(
        stack: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Enrolled two hours before the day ends, POD-000001 reports 3 of its 8 quarter-hours:
    the other 5 are published as missing, and the day closes with 3 certified, 5 missing."""
    start = DAY_END - timedelta(minutes=10)
    with running_market(stack, tmp_path, processors="projector,metering_publication",
                        clock="simulated", clock_start=start, clock_speed=60.0,
                        clock_anchor=datetime.now(UTC) + timedelta(seconds=5),
                        metering_grace_minutes=5.0) as market:
        certified = [MeterReadingCertified(
            pod_id="POD-000001", interval_start=ENROLLED + timedelta(minutes=15 * k),
            p_kw=1.0, q_kvar=0.2, energy_kwh=0.25, node_address=NODE.address,
            packet_hash="0x" + f"{k:064x}", signature="0x" + "1" * 130) for k in (0, 3, 7)]
        publish(market.settings, [
            new_event(LightNodeEnrolled(pod_id="POD-000001", aggregator_id="AGG-1",
                                        node_address=NODE.address), actor="AGG-1",
                      occurred_at=ENROLLED),
            *[new_event(c, actor="flexmarket-bal") for c in certified]])
        market.wait_until(select(func.count()).select_from(MeteringDayRow), 1,
                          "the day's bundle", timeout_s=90)
        with market.engine.connect() as conn:
            day = conn.execute(select(MeteringDayRow)).one()
            missing = sorted(r.interval_start.replace(tzinfo=UTC) for r in conn.execute(
                select(MissingReadingRow).where(MissingReadingRow.interval_start < DAY_END)))
    assert missing == [ENROLLED + timedelta(minutes=15 * k) for k in (1, 2, 4, 5, 6)]
    assert (day.delivery_day, day.pods, day.certified, day.missing) == (DAY, 1, 3, 5)
