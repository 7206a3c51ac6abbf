"""Where the signing keys come from (the environment or a file), the demo profile's
well-known key, and the refusal to run in production on any default secret."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from ledger.auth.tokens import Keyring, SigningKey
from ledger.settings import Settings

log = structlog.get_logger("flexmarket.auth")

# Public on purpose: the demo profile's tokens prove nothing outside a laptop.
DEMO_KEY = SigningKey("demo", b"flexmarket-demo-signing-key-not-a-secret")
DEFAULT_POSTGRES_PASSWORD = Settings.model_fields["postgres_password"].default


class ConfigurationError(RuntimeError):
    """The settings cannot be run as they are; the message names the variables."""


def default_secrets(settings: Settings) -> list[str]:
    """The settings that hold a secret left at its default value."""
    left = []
    if not settings.auth_keys and settings.auth_keys_file is None:
        left.append("FLEXMARKET_AUTH_KEYS or FLEXMARKET_AUTH_KEYS_FILE")
    url = make_url(settings.read_model_url)
    if url.get_backend_name() == "postgresql" and url.password == DEFAULT_POSTGRES_PASSWORD:
        left.append("FLEXMARKET_POSTGRES_PASSWORD (or a FLEXMARKET_DATABASE_URL of your own)")
    return left


def check_secrets(settings: Settings) -> None:
    """Refuse default secrets outside the demo profile.

    Raises:
        ConfigurationError: the profile is ``production`` and a secret is at its default.
    """
    left = default_secrets(settings)
    if left and settings.profile != "demo":
        raise ConfigurationError(
            "refusing to run with default secrets in the production profile; set "
            + "; ".join(left) + " (or FLEXMARKET_PROFILE=demo on a laptop)")
    if left:
        log.warning("demo profile: default secrets in use", settings=left)


def parse_keys(text: str, *, separator: str) -> tuple[SigningKey, ...]:
    """Keys from ``kid:secret`` items (the environment) or ``kid secret`` lines (a file);
    blank items and ``#`` comments are skipped."""
    keys = []
    for item in text.split(separator):
        item = item.split("#", 1)[0].strip()
        if not item:
            continue
        # ``kid:secret`` in the environment, ``kid secret`` (any blank) in a file.
        kid, _, secret = item.partition(":") if separator == "," else \
            item.replace("\t", " ").partition(" ")
        keys.append(SigningKey(kid.strip(), secret.strip().encode()))
    return tuple(keys)


def keyring(settings: Settings) -> Keyring:
    """The API's keyring: the environment's keys, then the file's, else the demo key.

    Raises:
        ConfigurationError: no key is configured outside the demo profile, or a key is
            malformed.
    """
    check_secrets(settings)
    try:
        keys = parse_keys(settings.auth_keys, separator=",")
        if settings.auth_keys_file is not None:
            keys += parse_keys(settings.auth_keys_file.read_text(), separator="\n")
        return Keyring(keys or (DEMO_KEY,))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"signing keys: {exc}") from exc


def add_key(path: Path, *, now: datetime | None = None) -> str:
    """Put a new random key first in the key file (creating it, readable by its owner
    only), so it signs from the API's next start while the older keys still verify.
    Returns the new key's kid."""
    # The second names when; the suffix keeps two keys of one second apart.
    kid = (now or datetime.now(UTC)).strftime("k%Y%m%dT%H%M%S-") + secrets.token_hex(3)
    old = path.read_text() if path.exists() else ""
    if any(line.split()[:1] == [kid] for line in old.splitlines()):
        raise ConfigurationError(f"{path} already has a key {kid}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(f"{kid} {secrets.token_urlsafe(48)}\n{old}")
    return kid


def retire_key(path: Path, kid: str) -> None:
    """Remove key ``kid`` from the key file: the tokens it signed stop verifying.

    Raises:
        ConfigurationError: no such key, or it is the only one.
    """
    lines = path.read_text().splitlines()
    kept = [line for line in lines if line.split()[:1] != [kid]]
    if len(kept) == len(lines):
        raise ConfigurationError(f"{path} has no key {kid}")
    if not parse_keys("\n".join(kept), separator="\n"):
        raise ConfigurationError(f"{kid} is the last key of {path}; add another first")
    path.write_text("\n".join(kept) + "\n")
