"""The setpoint relay on the real stack (Platone FR_DTP_SCO_1): an aggregator's setpoint
for its own PoD is relayed toward the light node, keyed by PoD; one for another
aggregator's PoD is refused as an event of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from aggregator.domain.events import SetpointIssued, SetpointSlot
from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow
from tests.integration.market.harness import Market, running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
# RT window 4 delivers MTUs 64–79 (16:00–20:00 in Rome).
SLOTS = tuple(SetpointSlot(mtu=64 + k, p_kw=2.0, q_kvar=0.0) for k in range(16))


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("setpoints")) as running:
        yield running


def test_fr_dtp_sco_1_setpoints_are_relayed_or_refused(market: Market) -> None:
    own = SetpointIssued(activation_id="ACT-1", pod_id="POD-000001", aggregator_id="AGG-1",
                         session_id="RT-2026-06-10-4", slots=SLOTS)
    stranger = own.model_copy(update={"activation_id": "ACT-2", "pod_id": "POD-000004"})
    publish(market.settings, [new_event(own, actor="AGG-1"),
                              new_event(stranger, actor="AGG-1")])
    answered = select(func.count()).select_from(EventRow).where(
        EventRow.type.in_(["SetpointRelayed", "SetpointRefused"]))
    market.wait_until(answered, 2, "both setpoints answered")
    with market.engine.connect() as conn:
        rows = {r.type: r for r in conn.execute(select(EventRow).where(
            EventRow.type.in_(["SetpointRelayed", "SetpointRefused"])))}
    relayed, refused = rows["SetpointRelayed"], rows["SetpointRefused"]
    assert (relayed.key, relayed.payload["light_node_channel"]) == (
        "POD-000001", "dsotp/setpoint/POD-000001")
    assert len(relayed.payload["slots"]) == 16
    assert relayed.topic.endswith("setpoints")
    assert (refused.key, refused.payload["reason"]) == (
        "POD-000004", "PoD POD-000004 belongs to another aggregator")
