"""Bearer tokens for tests, signed with the test keyring the ``stack`` fixture configures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.auth.keys import parse_keys
from ledger.auth.roles import Role
from ledger.auth.tokens import Keyring, issue
from tests.builders import DSO_ID

TEST_AUTH_KEYS = "test-1:flexmarket-tests-signing-key-0123456789abcdef"
KEYRING = Keyring(parse_keys(TEST_AUTH_KEYS, separator=","))


def token(participant_id: str, role: Role | str, *, now: datetime | None = None,
          ttl: timedelta = timedelta(minutes=15), keyring: Keyring = KEYRING) -> str:
    return issue(keyring, participant_id, Role(role), now=now or datetime.now(UTC), ttl=ttl)


def bearer(participant_id: str, role: Role | str, **kwargs: object) -> dict[str, str]:
    """The Authorization header of ``participant_id`` acting in ``role``."""
    return {"Authorization": f"Bearer {token(participant_id, role, **kwargs)}"}  # type: ignore[arg-type]


def as_dso(dso_id: str = DSO_ID) -> dict[str, str]:
    return bearer(dso_id, Role.DSO)


def as_aggregator(aggregator_id: str) -> dict[str, str]:
    return bearer(aggregator_id, Role.AGGREGATOR)
