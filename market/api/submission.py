"""The write path of the API: validate, become one event, publish, answer — at most once
per ``Idempotency-Key``.

The key's record is inserted in the same database transaction that is open while the
event is published, and committed only once Kafka has acknowledged it: a failed publish
leaves no key behind, so the client's retry is a first try again. A retry of a
committed key gets the first answer (200 ``ALREADY_ACCEPTED``) and no new event; the
same key with another body is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import IntegrityError
from uuid6 import uuid7

from ledger.auth.access import Principal
from ledger.canonical import canonical_json, keccak_hex
from ledger.catalog import EventPayload, new_event
from ledger.envelope import Event, derived_event_id
from ledger.errors import Rejected
from ledger.producer import EventProducer
from ledger.settings import Settings
from market.api.v1.schemas import SubmissionAccepted
from market.domain.clock import Clock
from market.store.models import IdempotencyKeyRow
from market.store.queries import get_idempotency_key

# Builds the event of a submission: given the connection (to read the registry), the
# event id and the time of acceptance; raises a FlexmarketError when a rule is broken.
Build = Callable[[Connection, UUID, datetime], tuple[Event, SubmissionAccepted]]


@dataclass
class Written:
    status: int  # 201 the first time, 200 for a repeated Idempotency-Key
    body: SubmissionAccepted


class Submitter:
    """Turns validated submissions into published events (one per accepted write)."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self._producer: EventProducer | None = None
        self._lock = threading.Lock()

    def producer(self) -> EventProducer:
        # Built on the first write, so reading the API needs no broker.
        with self._lock:
            if self._producer is None:
                self._producer = EventProducer(self.settings)
            return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()

    def submit(self, *, actor: str, idempotency_key: str | None, route: str,
               body: BaseModel, build: Build) -> Written:
        """Validate and publish one submission, once per key.

        Raises:
            FlexmarketError: the submission breaks a rule (nothing written), or the key
                was used for another body (``IDEMPOTENCY_KEY_REUSED``).
        """
        fingerprint = keccak_hex(canonical_json(
            {"route": route, "body": body.model_dump(mode="json")}))
        now = self.clock.now()
        try:
            with self.engine.begin() as conn:
                if idempotency_key is not None:
                    seen = get_idempotency_key(conn, actor, idempotency_key)
                    if seen is not None:
                        return _repeat(seen, fingerprint)
                    event_id = derived_event_id(now, "submission", actor, idempotency_key)
                else:
                    event_id = UUID(str(uuid7()))
                event, answer = build(conn, event_id, now)
                if idempotency_key is not None:
                    conn.execute(insert(IdempotencyKeyRow).values(
                        actor=actor, key=idempotency_key, fingerprint=fingerprint,
                        event_id=str(event_id), event=event.to_bytes().decode(),
                        response=answer.model_dump(mode="json"), created_at=now))
                self.producer().publish_all([event])
                return Written(201, answer)
        except IntegrityError:
            # The same key raced in from a concurrent retry, which won: answer as it did.
            with self.engine.connect() as conn:
                seen = get_idempotency_key(conn, actor, idempotency_key or "")
            if seen is None:
                raise
            return _repeat(seen, fingerprint)


def _repeat(seen: Any, fingerprint: str) -> Written:
    if seen.fingerprint != fingerprint:
        raise Rejected("this Idempotency-Key was used for a different submission",
                       code="IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    body = SubmissionAccepted.model_validate({**seen.response, "code": "ALREADY_ACCEPTED"})
    return Written(200, body)





def accept(submitter: Submitter, response: Response, caller: Principal, *, actor: str,
           key: str | None, route: str, body: BaseModel,
           payload_of: Callable[[Connection, datetime], EventPayload],
           actor_field: str = "aggregator_id") -> SubmissionAccepted:
    """Publish the one event ``payload_of`` makes (after checking its rules against the
    read models, raising a FlexmarketError when one is broken), once per key; sets the
    response's status (201, or 200 for a repeated key). For writes that are not about a
    session: the answer names what the event is about (its partition key).

    Raises:
        Forbidden: ``NOT_YOURS`` when ``actor`` (the body's ``actor_field``) is not the
            caller: nobody writes in another participant's name.
    """
    caller.require_own(actor, field=actor_field)

    def build(conn: Connection, event_id: UUID, now: datetime) -> tuple[Event,
                                                                         SubmissionAccepted]:
        payload = payload_of(conn, now)
        event = new_event(payload, actor=actor, occurred_at=now, event_id=event_id)
        return event, SubmissionAccepted(code="ACCEPTED", event_id=str(event_id),
                                         id=payload.partition_key())

    written = submitter.submit(actor=actor, idempotency_key=key, route=route, body=body,
                               build=build)
    response.status_code = written.status
    return written.body
