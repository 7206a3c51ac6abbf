"""Read-model digests over DATE columns (baselines, settlements), found by the fault
suite: ``flexmarket db digest`` raised on the first row with a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert

from aggregator.store.models import BaselineRow
from ledger.store.digest import normalise, table_digests
from ledger.store.migrate import upgrade


def test_a_date_normalises_to_its_iso_form() -> None:
    assert normalise(date(2026, 6, 10)) == "2026-06-10"


def test_digests_cover_a_table_with_dates_and_leave_out_what_a_replay_cannot_rebuild(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rm.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(BaselineRow).values(
            pod_id="POD-1", delivery_day=date(2026, 6, 10), aggregator_id="AGG-1",
            method="uploaded", slots=[], uploaded_at=datetime(2026, 6, 9, tzinfo=UTC),
            event_id="E-1"))
    digests = table_digests(engine)
    assert digests["baselines"]["rows"] == 1
    assert "participants" not in digests
    assert "idempotency_keys" not in digests  # the API's, beside the log
