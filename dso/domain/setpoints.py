"""Relaying an aggregator's setpoint to the PoD's light node (Platone FR_DTP_SCO_1/2)."""

from __future__ import annotations

from aggregator.domain.events import SetpointIssued
from dso.domain.events import SetpointRefused, SetpointRelayed
from market.domain.calendar import SessionSlot
from market.domain.submissions import PodView


def light_node_channel(pod_id: str) -> str:
    """The light node's own setpoint channel (the digest's MQTT topic per PoD; its
    acknowledgements come back on ``<channel>/ack``)."""
    return f"dsotp/setpoint/{pod_id}"


def relay(issued: SetpointIssued, pod: PodView | None, slot: SessionSlot | None,
          issued_event_id: str) -> SetpointRelayed | SetpointRefused:
    """Forward ``issued`` to its PoD's light node, or refuse it with the reason.

    Only the PoD's own aggregator may activate it (flow 6 is "marked by Aggregator ID"),
    only while it is registered, and only for quarter-hours its session (``slot``, None
    when the id is not in the calendar) delivers.
    """
    def refused(reason: str) -> SetpointRefused:
        return SetpointRefused(activation_id=issued.activation_id, pod_id=issued.pod_id,
                               aggregator_id=issued.aggregator_id, reason=reason,
                               issued_event_id=issued_event_id)

    if pod is None:
        return refused(f"PoD {issued.pod_id} is not registered")
    if not pod.active:
        return refused(f"PoD {issued.pod_id} was unregistered")
    if pod.aggregator_id != issued.aggregator_id:
        return refused(f"PoD {issued.pod_id} belongs to another aggregator")
    mtus = [s.mtu for s in issued.slots]
    if len(set(mtus)) != len(mtus):
        return refused("a quarter-hour is set twice")
    if slot is None:
        return refused(f"session {issued.session_id} is not in the calendar")
    outside = sorted(m for m in mtus if not slot.covers(m))
    if outside:
        return refused(f"MTUs {outside} are not delivered by {issued.session_id}")
    return SetpointRelayed(activation_id=issued.activation_id, pod_id=issued.pod_id,
                           aggregator_id=issued.aggregator_id,
                           light_node_channel=light_node_channel(issued.pod_id),
                           slots=issued.slots, issued_event_id=issued_event_id)
