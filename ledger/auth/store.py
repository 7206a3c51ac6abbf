"""Participants' credentials: who may ask the token endpoint for a token, in which role.

Kept in SQL beside the read models, but not an event: a secret's hash is no market fact,
and the log is hashed onto a public chain. Secrets are stored as scrypt hashes only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Row, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ledger.auth.roles import Role
from ledger.store.models import Base

# RFC 7914's interactive-login parameters: ~50 ms a check, so a token costs what a
# login does, while a stolen table costs an attacker as much per guess.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class ParticipantRow(Base):
    __tablename__ = "participants"

    participant_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    secret_salt: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Participant:
    participant_id: str
    role: Role
    registered_at: datetime
    disabled_at: datetime | None


class AlreadyRegistered(Exception):
    pass


def _hash(secret: str, salt: str) -> str:
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def _participant(row: Row[Any]) -> Participant:
    return Participant(row.participant_id, Role(row.role), row.registered_at,
                       row.disabled_at)


def register_participant(conn: Connection, participant_id: str, role: Role, *,
                         now: datetime) -> str:
    """Register ``participant_id`` in ``role`` and return its new client secret, which is
    shown once and stored only as a hash.

    Raises:
        AlreadyRegistered: the id is taken (a disabled id stays taken).
    """
    if conn.scalar(select(ParticipantRow.participant_id).where(
            ParticipantRow.participant_id == participant_id)) is not None:
        raise AlreadyRegistered(participant_id)
    secret, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
    conn.execute(ParticipantRow.__table__.insert().values(
        participant_id=participant_id, role=role.value, secret_salt=salt,
        secret_hash=_hash(secret, salt), registered_at=now, disabled_at=None))
    return secret


def new_secret(conn: Connection, participant_id: str) -> str | None:
    """Replace an active participant's secret; ``None`` if there is none."""
    secret, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
    changed = conn.execute(update(ParticipantRow).where(
        ParticipantRow.participant_id == participant_id,
        ParticipantRow.disabled_at.is_(None)).values(
        secret_salt=salt, secret_hash=_hash(secret, salt))).rowcount
    return secret if changed else None


def disable_participant(conn: Connection, participant_id: str, *, now: datetime) -> bool:
    """Refuse the participant new tokens; its current ones run out within the token
    lifetime. False if there is no active participant of that id."""
    return bool(conn.execute(update(ParticipantRow).where(
        ParticipantRow.participant_id == participant_id,
        ParticipantRow.disabled_at.is_(None)).values(disabled_at=now)).rowcount)


def authenticate(conn: Connection, participant_id: str, secret: str) -> Participant | None:
    """The active participant whose secret this is, else ``None``."""
    row = conn.execute(select(ParticipantRow).where(
        ParticipantRow.participant_id == participant_id)).one_or_none()
    if row is None or row.disabled_at is not None:
        # Hash anyway, so an unknown id takes as long to refuse as a wrong secret.
        _hash(secret, "00" * 16)
        return None
    if not hmac.compare_digest(_hash(secret, row.secret_salt), row.secret_hash):
        return None
    return _participant(row)


def list_participants(conn: Connection) -> list[Participant]:
    rows = conn.execute(select(ParticipantRow).order_by(ParticipantRow.participant_id))
    return [_participant(r) for r in rows]
