"""Which PoM and bus a registered PoD belongs to (Platone flow 0A, FR_DTP_ROF_2)."""

from __future__ import annotations

from aggregator.domain.events import PodRegistered
from dso.domain.events import PodPomAssociated, PodPomAssociationRefused
from dso.domain.grid import Grid, UnknownGridPoint


def associate(grid: Grid, registered: PodRegistered,
              registration_event_id: str) -> PodPomAssociated | PodPomAssociationRefused:
    """The DSO's answer to a PodRegistered: the PoD's PoM (the primary substation it is
    under) and bus, or the reason it is not on ``grid``."""
    loc = registered.location
    try:
        bus = grid.locate(loc.primary_substation, loc.mv_feeder, loc.secondary_substation)
    except UnknownGridPoint as exc:
        return PodPomAssociationRefused(pod_id=registered.pod_id, grid=grid.name,
                                        reason=str(exc)[:500],
                                        registration_event_id=registration_event_id)
    return PodPomAssociated(pod_id=registered.pod_id, grid=grid.name, bus=bus,
                            pom_id=grid.primary_substation_of(loc.secondary_substation),
                            registration_event_id=registration_event_id)
