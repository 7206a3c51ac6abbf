"""The DSO's setpoint relay (Platone FR_DTP_SCO_1/2): the PoD's own aggregator's setpoint
goes to the PoD's light node channel; anything else is refused with the reason."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aggregator.domain.events import SetpointIssued, SetpointSlot
from dso.domain.events import SetpointRefused, SetpointRelayed
from dso.domain.setpoints import relay
from market.domain.calendar import find_session
from market.domain.submissions import PodView

POD = PodView(pod_id="POD-1", aggregator_id="AGG-1", primary_substation="PS-1",
              mv_feeder="PS-1-F1", secondary_substation="SS-5", up_p_kw=5.0, down_p_kw=3.0,
              up_q_kvar=0.0, down_q_kvar=0.0)
SLOTS = tuple(SetpointSlot(mtu=64 + k, p_kw=1.5 - 0.1 * k, q_kvar=0.0) for k in range(16))
SLOT = find_session("RT-2026-06-10-4")  # delivers MTUs 64–79
ISSUED = SetpointIssued(activation_id="ACT-1", pod_id="POD-1", aggregator_id="AGG-1",
                        session_id="RT-2026-06-10-4", slots=SLOTS)


def test_fr_dtp_sco_1_the_owners_setpoint_is_relayed_to_the_light_node() -> None:
    answer = relay(ISSUED, POD, SLOT, "EV-1")
    assert answer == SetpointRelayed(activation_id="ACT-1", pod_id="POD-1",
                                     aggregator_id="AGG-1",
                                     light_node_channel="dsotp/setpoint/POD-1",
                                     slots=SLOTS, issued_event_id="EV-1")
    assert len(answer.slots) == 16


@pytest.mark.parametrize(("issued", "pod", "reason"), [
    (ISSUED, None, "PoD POD-1 is not registered"),
    (ISSUED, replace(POD, active=False), "PoD POD-1 was unregistered"),
    (ISSUED.model_copy(update={"aggregator_id": "AGG-2"}), POD,
     "PoD POD-1 belongs to another aggregator"),
    (ISSUED.model_copy(update={"slots": (SLOTS[0], SLOTS[0])}), POD,
     "a quarter-hour is set twice"),
    (ISSUED.model_copy(update={"slots": (SetpointSlot(mtu=80, p_kw=1.0, q_kvar=0.0),)}),
     POD, "MTUs [80] are not delivered by RT-2026-06-10-4"),
    # The relay looks the session up in the calendar: an id that is not there gives None.
    (ISSUED.model_copy(update={"session_id": "RT-2026-02-30-4"}), POD,
     "session RT-2026-02-30-4 is not in the calendar"),
])
def test_fr_dtp_sco_1_a_setpoint_not_to_relay_is_refused_visibly(
        issued: SetpointIssued, pod: PodView | None, reason: str) -> None:
    answer = relay(issued, pod, find_session(issued.session_id), "EV-2")
    assert isinstance(answer, SetpointRefused)
    assert answer.reason == reason
