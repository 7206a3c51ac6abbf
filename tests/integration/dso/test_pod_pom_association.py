"""The PoD–PoM association processor on the real stack (Platone flow 0A, FR_DTP_ROF_2):
every registered PoD on the grid gets its PoM in the registry read model; one off the grid
gets a refusal event, and its registration stays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow, PodRow
from tests.builders import make_location, make_pod_registered
from tests.integration.market.harness import PODS, Market, running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("association")) as running:
        yield running


def test_fr_dtp_rof_2_registered_pods_get_their_pom(market: Market) -> None:
    market.wait_until(select(func.count()).select_from(PodRow).where(PodRow.pom_id == "PS-1"),
                      len(PODS), "every PoD associated with PoM PS-1")
    with market.engine.connect() as conn:
        answers = conn.scalar(select(func.count()).select_from(EventRow).where(
            EventRow.type == "PodPomAssociated"))
    assert answers == len(PODS)  # one answer per registration, none twice


def test_fr_dtp_rof_2_a_pod_off_the_grid_is_refused_visibly(market: Market) -> None:
    stray = make_pod_registered(pod_id="POD-STRAY", location=make_location(
        secondary_substation="SS-404"))
    publish(market.settings, [new_event(stray, actor=stray.aggregator_id)])
    market.wait_until(select(func.count()).select_from(EventRow).where(
        EventRow.type == "PodPomAssociationRefused", EventRow.key == "POD-STRAY"), 1,
        "the refusal")
    with market.engine.connect() as conn:
        row = conn.execute(select(PodRow).where(PodRow.pod_id == "POD-STRAY")).one()
        refusal = conn.execute(select(EventRow).where(
            EventRow.type == "PodPomAssociationRefused")).one()
    assert row.active and row.pom_id is None
    assert "SS-404" in refusal.payload["reason"]
