"""The event catalog: which payload model, topic and partition key each event type has.

Types are registered under a stable string and integer version, never a module path,
so moving a class never breaks replay (STYLE.md "Events"). Each part of flexmarket
declares its payloads in ``<package>/domain/events.py``; ``load_catalog`` imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from ledger.envelope import Event, seal
from ledger.errors import InvalidEvent
from ledger.topics import Topic

EVENT_MODULES: tuple[str, ...] = ("ledger.events", "aggregator.domain.events",
                                   "market.domain.events", "dso.domain.events",
                                   "access_layer.domain.events")


class EventPayload(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields, finite numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    spec: ClassVar[EventSpec]

    def partition_key(self) -> str:
        """The value events of this type are keyed by (the catalog's key field)."""
        return str(getattr(self, self.spec.key_field))


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    topic: Topic | str
    key_field: str
    payload: type[EventPayload]
    # Events on one topic per participant (``results.<participant>``) name the field
    # whose value completes the topic's name.
    topic_field: str | None = None


_CATALOG: dict[tuple[str, int], EventSpec] = {}
P = TypeVar("P", bound=type[EventPayload])


def event_type(name: str, *, version: int = 1, topic: Topic | str, key: str,
               topic_field: str | None = None) -> Callable[[P], P]:
    """Register a payload model as event ``name`` v``version`` on ``topic``, keyed by ``key``.

    With ``topic_field``, the event goes to ``<topic>.<value of that field>``.
    """

    def register(model: P) -> P:
        for field in (key, topic_field):
            if field is not None and field not in model.model_fields:
                raise TypeError(f"{model.__name__} has no field {field!r}")
        spec = EventSpec(name, version, topic, key, model, topic_field)
        existing = _CATALOG.setdefault((name, version), spec)
        if existing.payload.__qualname__ != model.__qualname__:
            raise TypeError(f"event type {name} v{version} is registered twice")
        model.spec = spec
        return model

    return register


@cache
def load_catalog() -> dict[tuple[str, int], EventSpec]:
    """Import every package's event declarations once and return the catalog."""
    for module in EVENT_MODULES:
        importlib.import_module(module)
    return dict(_CATALOG)


def spec_for(type_: str, version: int) -> EventSpec:
    """The catalog entry of an event type and version.

    Raises:
        InvalidEvent: ``UNKNOWN_EVENT_TYPE`` when the pair is not in the catalog.
    """
    try:
        return load_catalog()[(type_, version)]
    except KeyError:
        raise InvalidEvent(f"unknown event type {type_} v{version}",
                           code="UNKNOWN_EVENT_TYPE", field="type") from None


def new_event(payload: EventPayload, *, actor: str, occurred_at: datetime | None = None,
              event_id: UUID | None = None) -> Event:
    """Wrap a typed payload in a sealed envelope keyed per the catalog.

    ``event_id`` is given when the event must come out the same each time it is made
    (a retried submission, a fact re-read from the chain), so consumers see one event.
    """
    spec = payload.spec
    return seal(type=spec.type, version=spec.version, actor=actor, key=payload.partition_key(),
                payload=payload.model_dump(mode="json"), occurred_at=occurred_at,
                event_id=event_id)


def typed_payload(event: Event) -> EventPayload:
    """Validate an event's payload against its catalog model and its key against the payload.

    Raises:
        InvalidEvent: unknown type, a payload field that breaks its model (named as
            ``payload.<field>``), or a key that is not the payload's partition key.
    """
    spec = spec_for(event.type, event.version)
    try:
        payload = spec.payload.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["payload", *(str(p) for p in first["loc"])])
        raise InvalidEvent(f"{field}: {first['msg']}", code="PAYLOAD_INVALID",
                           field=field) from None
    if payload.partition_key() != event.key:
        raise InvalidEvent(f"key {event.key!r} is not the payload's {spec.key_field}",
                           code="EVENT_KEY_MISMATCH", field="key")
    return payload


def topic_of(event: Event) -> str:
    """The base name (without the deployment's prefix) of the topic ``event`` goes to."""
    spec = spec_for(event.type, event.version)
    if spec.topic_field is None:
        return str(spec.topic)
    return f"{spec.topic}.{event.payload[spec.topic_field]}"
