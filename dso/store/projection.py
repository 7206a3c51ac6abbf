"""Read-model rules of the DSO's events: which rows each one writes."""

from __future__ import annotations

from dso.domain.events import PodPomAssociated
from ledger.envelope import Event
from ledger.projection import RowChange, rule


@rule("PodPomAssociated")
def _pod_pom_associated(event: Event, p: PodPomAssociated) -> list[RowChange]:
    return [RowChange("pods", "update", {"pod_id": p.pod_id, "pom_id": p.pom_id,
                                         "last_event_id": str(event.event_id)}, ("pod_id",))]
