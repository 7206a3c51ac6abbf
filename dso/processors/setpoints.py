"""The setpoint relay: on SetpointIssued, forward it toward the PoD's light node as
SetpointRelayed, or publish SetpointRefused with the reason (Platone FR_DTP_SCO_1)."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

import faust
from sqlalchemy import Engine, create_engine

from aggregator.domain.events import SetpointIssued
from dso.domain.setpoints import relay
from ledger.catalog import new_event
from ledger.envelope import Event, derived_event_id
from ledger.processors.support import answer_each
from ledger.settings import Settings
from ledger.topics import Topic
from market.domain.calendar import find_session
from market.store import queries


def attach(app: faust.App, settings: Settings) -> None:
    """Add the setpoint-relay agent to ``app``."""
    engine = create_engine(settings.read_model_url, pool_pre_ping=True)
    # The PoD's registration must be read before its owner is checked.
    answer_each(app, settings, name="setpoint-relay", source=Topic.SETPOINTS,
                kind=SetpointIssued, target=Topic.SETPOINTS, engine=engine,
                wait_for=[Topic.REGISTRY], answer=partial(answer_setpoint, settings, engine))


def answer_setpoint(settings: Settings, engine: Engine, event: Event,
                    issued: SetpointIssued) -> Event:
    """The relay's answer; id and time come from the issued setpoint, so answering it
    again after a restart gives the identical event."""
    with engine.connect() as conn:
        pod = queries.get_pod_views(conn, [issued.pod_id]).get(issued.pod_id)
    slot = find_session(issued.session_id, ZoneInfo(settings.time_zone))
    return new_event(relay(issued, pod, slot, str(event.event_id)), actor=settings.dso_id,
                     occurred_at=event.occurred_at,
                     event_id=derived_event_id(event.occurred_at, "Relay", str(event.event_id)))
