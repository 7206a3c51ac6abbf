"""The PoD–PoM association processor: on PodRegistered, place the PoD on the DSO's grid
and publish PodPomAssociated, or PodPomAssociationRefused with the reason (Platone flow 0A,
FR_DTP_ROF_2)."""

from __future__ import annotations

import faust

from aggregator.domain.events import PodRegistered
from dso.domain.association import associate
from dso.grids import grid_of
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import answer_each
from ledger.settings import Settings
from ledger.topics import Topic


def attach(app: faust.App, settings: Settings) -> None:
    """Add the PoD–PoM association agent to ``app``."""
    grid = grid_of(settings.dso_grid)

    def answer(event: Event, registered: PodRegistered) -> Event:
        # Id and time come from the registration: answering it again after a restart
        # gives the identical event, which the projector keeps once.
        return new_event(associate(grid, registered, str(event.event_id)),
                         actor=settings.dso_id, occurred_at=event.occurred_at,
                         event_id=derived_event_id(event.occurred_at, "PodPom",
                                                   str(event.event_id)))

    answer_each(app, settings, name="pod-pom-association", source=Topic.REGISTRY,
                kind=PodRegistered, target=Topic.REGISTRY, answer=answer)
