"""The PoD–PoM association processor: on PodRegistered, place the PoD on the DSO's grid
and publish PodPomAssociated, or PodPomAssociationRefused with the reason (Platone flow 0A,
FR_DTP_ROF_2)."""

from __future__ import annotations

from functools import partial

import faust
from faust.types import StreamT

from aggregator.domain.events import PodRegistered
from dso.domain.association import associate
from dso.grids import grid_of
from ledger.catalog import new_event
from ledger.envelope import derived_event_id
from ledger.processors.support import event_of, publish, raw_topic, until_done
from ledger.settings import Settings
from ledger.topics import Topic


def attach(app: faust.App, settings: Settings) -> None:
    """Add the PoD–PoM association agent to ``app``."""
    grid = grid_of(settings.dso_grid)
    registry = raw_topic(app, settings, Topic.REGISTRY)

    @app.agent(registry, name="pod-pom-association")
    async def pod_pom_association(stream: StreamT) -> None:
        async for value in stream:
            found = event_of(value, PodRegistered)
            if found is None:
                continue
            event, payload = found
            answer = associate(grid, payload, str(event.event_id))
            # Id and time come from the registration: answering it again after a restart
            # gives the identical event, which the projector keeps once.
            made = new_event(answer, actor=settings.dso_id, occurred_at=event.occurred_at,
                             event_id=derived_event_id(event.occurred_at, "PodPom",
                                                       str(event.event_id)))
            await until_done(partial(publish, registry, [made]), "publish association")
