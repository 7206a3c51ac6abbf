"""The DSO's answer to a PoD registration (Platone flow 0A, FR_DTP_ROF_2), and which
processors a worker runs."""

from __future__ import annotations

import pytest

from dso.domain.association import associate
from dso.domain.events import PodPomAssociated, PodPomAssociationRefused
from dso.domain.grid import load_grid
from ledger.faust_app import PROCESSORS, selected_processors
from ledger.settings import Settings
from tests.builders import make_location, make_pod_registered

GRID = load_grid("cigre_mv")


def test_fr_dtp_rof_2_a_pod_on_the_grid_is_mapped_to_its_pom_and_bus() -> None:
    registered = make_pod_registered(location=make_location(
        mv_feeder="PS-1-F2", secondary_substation="SS-13"))
    answer = associate(GRID, registered, "EV-1")
    assert answer == PodPomAssociated(pod_id=registered.pod_id, pom_id="PS-1",
                                      grid="cigre_mv", bus=13, registration_event_id="EV-1")


@pytest.mark.parametrize(("location", "reason"), [
    ({"secondary_substation": "SS-99"}, "no grid point 'SS-99'"),
    ({"mv_feeder": "PS-1-F2"}, "SS-5 is under PS-1-F1"),
    ({"primary_substation": "PS-7"}, "not under PS-1-F1 of PS-7"),
])
def test_fr_dtp_rof_2_a_pod_off_the_grid_is_refused_with_the_reason(
        location: dict[str, str], reason: str) -> None:
    answer = associate(GRID, make_pod_registered(location=make_location(**location)), "EV-2")
    assert isinstance(answer, PodPomAssociationRefused)
    assert reason in answer.reason


def test_a_worker_runs_all_processors_or_those_named() -> None:
    assert selected_processors(Settings(processors="all")) == list(PROCESSORS.values())
    assert selected_processors(Settings(processors="projector, anchor")) == [
        "ledger.processors.projector", "ledger.processors.anchor"]
    with pytest.raises(ValueError, match="unknown processors \\['clearnig'\\]"):
        selected_processors(Settings(processors="projector,clearnig"))
