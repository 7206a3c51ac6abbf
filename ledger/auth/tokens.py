"""Signed bearer tokens: JWTs (HS256) naming a participant and its role, with an expiry.

A keyring holds several keys so they can be rotated: the first signs, every key verifies,
and each token names its key (``kid``). Rotating is adding a new key first, and retiring
the old one once the tokens it signed have expired (``auth_token_minutes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from ledger.auth.roles import Role

ALGORITHM = "HS256"
AUDIENCE = "flexmarket-api"
# RFC 7518 §3.2: an HS256 key at least as long as the hash.
MIN_SECRET_BYTES = 32


class TokenInvalid(Exception):
    """The token cannot be trusted; the message says why (expired, bad signature, …)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes

    def __post_init__(self) -> None:
        if not self.kid or len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"signing key {self.kid!r}: a kid and at least "
                             f"{MIN_SECRET_BYTES} bytes of secret are needed")


@dataclass(frozen=True)
class Keyring:
    keys: tuple[SigningKey, ...]
    issuer: str = "flexmarket"

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")
        if len({k.kid for k in self.keys}) != len(self.keys):
            raise ValueError("the keyring's kids must differ")

    @property
    def signing(self) -> SigningKey:
        return self.keys[0]


@dataclass(frozen=True)
class Claims:
    participant_id: str
    role: Role
    expires_at: datetime


def issue(keyring: Keyring, participant_id: str, role: Role, *, now: datetime,
          ttl: timedelta) -> str:
    """A token for ``participant_id`` in ``role``, valid from ``now`` for ``ttl``."""
    key = keyring.signing
    claims = {"sub": participant_id, "role": role.value, "iss": keyring.issuer,
              "aud": AUDIENCE, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})


def verify(keyring: Keyring, token: str, *, now: datetime) -> Claims:
    """The claims of a token this keyring signed and that has not expired at ``now``.

    Raises:
        TokenInvalid: malformed, signed by no key of the ring (or with another algorithm),
            expired, or for another issuer, audience or role.
    """
    claims = _signed_claims(keyring, token)
    if not isinstance(claims["exp"], int) or claims["exp"] <= now.timestamp():
        raise TokenInvalid("the token has expired")
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise TokenInvalid(f"unknown role {claims['role']!r}") from exc
    return Claims(str(claims["sub"]), role,
                  datetime.fromtimestamp(claims["exp"], tz=now.tzinfo))


# A caller sends the same token with every request: its signature is checked once
# (the keyring is part of the key, so a rotated ring checks again). Expiry is not
# cached: ``verify`` checks it each time.
@lru_cache(maxsize=4096)
def _signed_claims(keyring: Keyring, token: str) -> dict[str, Any]:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keyring.keys if k.kid == kid), None)
        if key is None:
            raise TokenInvalid(f"signed by an unknown key {kid!r}")
        # The clock is ours, not PyJWT's: expiry is checked by ``verify`` against ``now``.
        claims = jwt.decode(token, key.secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=keyring.issuer,
                            options={"verify_exp": False, "verify_iat": False,
                                     "require": ["exp", "sub", "role"]})
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    return claims  # type: ignore[no-any-return]
