"""The event envelope: identity, type, time, actor, partition key, payload and hash.

Every fact in flexmarket travels in this envelope (ARCHITECTURE.md "Event envelope").
The hash is keccak-256 over the RFC 8785 canonical JSON of every other field, so an
auditor can recompute it from the event alone.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from uuid6 import uuid7

from ledger.canonical import canonical_json, keccak256, keccak_hex
from ledger.errors import InvalidEvent

MAX_NESTING = 64  # levels of arrays and objects in one event
_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling per instant, for hashing."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: flexmarket stores only timezone-aware UTC times")
    # isoformat pads the year to four digits, which strftime's %Y does not on Linux.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class Event(BaseModel):
    """One immutable event as it is stored on Kafka and in the read models.

    ``payload`` is the JSON body; its schema is the catalog entry for ``type`` and
    ``version`` (``ledger.catalog``), checked by ``decode_event``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    event_id: UUID
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    occurred_at: datetime
    # No NUL: read models keep these in text columns, which cannot hold it on PostgreSQL.
    actor: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    key: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")
    payload: dict[str, Any]
    hash: str

    @field_validator("event_id")
    @classmethod
    def _time_ordered(cls, value: UUID) -> UUID:
        if value.version != 7:
            raise ValueError(f"event_id must be a UUIDv7, got version {value.version}")
        return value

    @field_validator("type")
    @classmethod
    def _past_tense_pascal(cls, value: str) -> str:
        if not _TYPE.match(value):
            raise ValueError("type must be PascalCase, e.g. 'PodRegistered'")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone (RFC 3339, UTC)")
        return value.astimezone(UTC)

    @field_validator("hash")
    @classmethod
    def _hex_hash(cls, value: str) -> str:
        if not _HASH.match(value):
            raise ValueError("hash must be 0x followed by 64 lowercase hex digits")
        return value

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the hash covers, in their JSON form."""
        return _hashed_fields(self.event_id, self.type, self.version, self.occurred_at,
                              self.actor, self.key, self.payload)

    def to_json_dict(self) -> dict[str, Any]:
        return {**self.hashed_fields(), "hash": self.hash}

    def to_bytes(self) -> bytes:
        """The canonical bytes written to Kafka (the envelope including its hash)."""
        return canonical_json(self.to_json_dict())



def derived_event_id(moment: datetime, *parts: str) -> UUID:
    """A UUIDv7 that is the same every time for the same moment and ``parts``.

    For facts that can be re-announced (a retried request, a batch re-read from the chain):
    the same id makes consumers, which keep one event per id, see the fact once. The 48-bit
    time prefix is ``moment`` in Unix milliseconds; the 74 "random" bits are keccak-256 of
    the parts, which RFC 9562 allows for v7.
    """
    millis = int(moment.timestamp() * 1000)
    digest = int.from_bytes(keccak256("\x1f".join(parts).encode()), "big")
    rand_a, rand_b = digest >> 244, digest & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return UUID(int=value)


def _hashed_fields(event_id: UUID, type_: str, version: int, occurred_at: datetime,
                   actor: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": str(event_id), "type": type_, "version": version,
            "occurred_at": format_time(occurred_at), "actor": actor, "key": key,
            "payload": payload}


def seal(*, type: str, version: int, actor: str, key: str, payload: dict[str, Any],
         occurred_at: datetime | None = None, event_id: UUID | None = None) -> Event:
    """Make a new event and compute its hash.

    Args:
        type: the catalog type string, e.g. ``PodRegistered``.
        version: the payload schema version.
        actor: the participant id that caused the event.
        key: the partition key (session id, PoD id …, per the catalog).
        payload: the JSON body, already validated against its model.
        occurred_at: when it happened (UTC); now by default.
        event_id: a UUIDv7; a fresh one by default.

    Raises:
        InvalidEvent: when a field breaks the envelope's rules (field named).
    """
    event_id = event_id or UUID(str(uuid7()))
    occurred_at = occurred_at or datetime.now(UTC)
    if occurred_at.tzinfo is None:
        raise InvalidEvent("occurred_at must carry a time zone (RFC 3339, UTC)",
                           code="EVENT_INVALID", field="occurred_at")
    try:
        body = canonical_json(_hashed_fields(event_id, type, version, occurred_at, actor, key,
                                             payload))
    except ValueError as exc:
        raise InvalidEvent(str(exc), code="EVENT_NOT_CANONICAL", field="payload") from None
    # What parse_event checks of received bytes holds here by construction (one JSON
    # text, canonical, hashed as it is): only the envelope's rules and its normal form
    # remain to be checked, so every event made here is one parse_event accepts.
    event = _validate({**json.loads(body), "hash": keccak_hex(body)})
    if canonical_json(event.hashed_fields()) != body:
        normal = event.hashed_fields()
        given = json.loads(body)
        name = next(n for n, v in normal.items() if canonical_json(v) != canonical_json(given[n]))
        raise InvalidEvent(f"{name}: not in normal form (expected {normal[name]!r})",
                           code="EVENT_NOT_NORMAL_FORM", field=name)
    return event


def parse_event(raw: bytes) -> Event:
    """Parse and check an envelope from its bytes: JSON, fields, one spelling, the hash.

    The hash is checked over the members exactly as received, which is what an auditor
    recomputes (ledger/vectors/README.md); and the received members must already be in
    the envelope's normal form (``"version": 1`` not ``"1"``, lower-case ids, UTC ``Z``
    times), so every event has one spelling and its stored hash always verifies.

    Raises:
        InvalidEvent: ``EVENT_NOT_JSON`` (also duplicate names, nesting too deep); a
            missing or malformed field, named; ``EVENT_NOT_CANONICAL`` for a value RFC 8785
            cannot encode (NaN, Infinity, huge integers, lone surrogates);
            ``EVENT_NOT_NORMAL_FORM`` for another spelling of a value;
            ``EVENT_HASH_MISMATCH``; and ``EVENT_NOT_CANONICAL`` for bytes other than the
            event's canonical JSON (spacing, member order).
    """
    data = _strict_json(raw)
    if not isinstance(data, dict):
        raise InvalidEvent("an event must be a JSON object", code="EVENT_NOT_OBJECT")
    event = _validate(data)
    received = {name: value for name, value in data.items() if name != "hash"}
    try:
        received_body = canonical_json(received)
    except ValueError as exc:
        raise InvalidEvent(f"payload: {exc}", code="EVENT_NOT_CANONICAL",
                           field="payload") from None
    if keccak_hex(received_body) != event.hash:
        raise InvalidEvent("hash does not match the event's canonical content",
                           code="EVENT_HASH_MISMATCH", field="hash")
    normal = event.hashed_fields()
    if canonical_json(normal) != received_body:  # one comparison; name the field if not
        name = next(n for n, v in normal.items()
                    if canonical_json(v) != canonical_json(received[n]))
        raise InvalidEvent(f"{name}: not in normal form (expected {normal[name]!r})",
                           code="EVENT_NOT_NORMAL_FORM", field=name)
    if raw != canonical_json(data):
        # Same event, other bytes (spacing, member order): the record's bytes are what is
        # anchored, and an auditor recomputes them from the event, so only one is allowed.
        raise InvalidEvent("the record is not the event's canonical JSON (RFC 8785)",
                           code="EVENT_NOT_CANONICAL")
    return event


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise InvalidEvent(f"not JSON: member {duplicate!r} appears twice",
                           code="EVENT_NOT_JSON", field=duplicate)
    return dict(pairs)


def _nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, brackets in strings ignored."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _strict_json(raw: bytes) -> Any:
    """JSON without duplicate names (I-JSON, as RFC 8785 requires).

    NaN and Infinity are let through here: only ``payload`` can hold them past the
    envelope's model, and the canonical encoding then rejects them naming ``payload``.
    """
    # The C decoder recurses once per level, bounded only by the recursion limit, which
    # py-evm and py_ecc (imported with web3) raise to 100,000: deep enough to overflow the C
    # stack and kill the process. Counting brackets is C-fast; only a record with many
    # of them gets its depth measured.
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _nesting_depth(raw) > MAX_NESTING:
        raise InvalidEvent(f"not JSON: nested deeper than {MAX_NESTING} levels",
                           code="EVENT_NOT_JSON")
    try:
        return json.loads(raw, object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}", code="EVENT_NOT_JSON") from None
    except RecursionError:
        raise InvalidEvent("not JSON: nested too deeply", code="EVENT_NOT_JSON") from None


def _validate(data: dict[str, Any]) -> Event:
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidEvent(f"{field}: {first['msg']}", code="EVENT_INVALID",
                           field=field) from None
