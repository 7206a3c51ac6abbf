"""Issue 7's bearer tokens and signing keys: a token names its participant and role, is
refused once expired, forged, tampered with or signed by a key the ring does not hold;
keys rotate without cutting off live tokens; and production refuses default secrets."""

from __future__ import annotations

import base64
import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from ledger.auth.keys import (
    DEMO_KEY,
    ConfigurationError,
    add_key,
    keyring,
    parse_keys,
    retire_key,
)
from ledger.auth.roles import Role
from ledger.auth.tokens import AUDIENCE, Claims, Keyring, SigningKey, TokenInvalid, issue, verify
from ledger.settings import Settings
from tests.auth import TEST_AUTH_KEYS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)
OLD = SigningKey("old", b"o" * 32)
NEW = SigningKey("new", b"n" * 32)
RING = Keyring((OLD,))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unb64(segment: str) -> dict[str, object]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": "AGG-1", "role": "aggregator", "iss": "flexmarket", "aud": AUDIENCE,
        "iat": int(NOW.timestamp()), "exp": int((NOW + TTL).timestamp())}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


# --- tokens ---------------------------------------------------------------------------


def test_issue_7_a_token_verifies_to_its_participant_role_and_expiry() -> None:
    token = issue(RING, "AGG-1", Role.AGGREGATOR, now=NOW, ttl=TTL)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "old"}
    assert verify(RING, token, now=NOW + timedelta(minutes=1)) == Claims(
        "AGG-1", Role.AGGREGATOR, NOW + TTL)


def test_issue_7_expiry_is_judged_by_the_clock_passed_in_not_the_wall_clock() -> None:
    """A token issued and checked a year ahead of the wall clock is valid then."""
    later = datetime.now(UTC) + timedelta(days=365)
    token = issue(RING, "DSO-1", Role.DSO, now=later, ttl=TTL)
    assert verify(RING, token, now=later + timedelta(minutes=14)).participant_id == "DSO-1"


def test_issue_7_tokens_expire() -> None:
    """Valid up to the second before ``exp``; refused at it and after; a token issued an
    hour before ``now`` with a 15-minute lifetime is refused."""
    token = issue(RING, "AGG-1", Role.AGGREGATOR, now=NOW, ttl=TTL)
    assert verify(RING, token, now=NOW + TTL - timedelta(seconds=1)).role is Role.AGGREGATOR
    for at in (NOW + TTL, NOW + TTL + timedelta(days=1)):
        with pytest.raises(TokenInvalid, match="expired"):
            verify(RING, token, now=at)
    stale = issue(RING, "AGG-1", Role.AGGREGATOR, now=NOW - timedelta(hours=1), ttl=TTL)
    with pytest.raises(TokenInvalid, match="expired"):
        verify(RING, stale, now=NOW)


def test_issue_7_a_token_signed_by_a_key_not_in_the_ring_is_refused() -> None:
    """Same kid, another secret: the signature does not check."""
    impostor = Keyring((SigningKey("old", b"x" * 32),))
    token = issue(impostor, "MA-1", Role.MARKET_ADMIN, now=NOW, ttl=TTL)
    with pytest.raises(TokenInvalid, match="Signature verification failed"):
        verify(RING, token, now=NOW)


def test_issue_7_a_token_naming_an_unknown_kid_is_refused() -> None:
    token = issue(Keyring((SigningKey("elsewhere", b"o" * 32),)), "MA-1", Role.MARKET_ADMIN,
                  now=NOW, ttl=TTL)
    with pytest.raises(TokenInvalid, match="unknown key 'elsewhere'"):
        verify(RING, token, now=NOW)
    _, payload, signature = token.split(".")
    no_kid = ".".join([_b64({"alg": "HS256", "typ": "JWT"}), payload, signature])
    with pytest.raises(TokenInvalid, match="unknown key None"):
        verify(RING, no_kid, now=NOW)


def test_issue_7_a_tampered_payload_is_refused() -> None:
    """A customer's token with its role rewritten to market_admin, signature kept."""
    header, payload, signature = issue(RING, "CUST-1", Role.CUSTOMER, now=NOW,
                                       ttl=TTL).split(".")
    claims = _unb64(payload)
    assert claims["role"] == "customer"
    forged = ".".join([header, _b64({**claims, "role": "market_admin"}), signature])
    with pytest.raises(TokenInvalid, match="Signature verification failed"):
        verify(RING, forged, now=NOW)


def test_issue_7_an_unsigned_alg_none_token_is_refused() -> None:
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT", "kid": "old"}),
                         _b64(_claims(role="market_admin")), ""])
    with pytest.raises(TokenInvalid, match="alg"):
        verify(RING, unsigned, now=NOW)


def test_issue_7_a_properly_signed_token_with_a_role_not_in_role_is_refused() -> None:
    token = jwt.encode(_claims(role="root"), OLD.secret, algorithm="HS256",
                       headers={"kid": "old"})
    with pytest.raises(TokenInvalid, match="unknown role 'root'"):
        verify(RING, token, now=NOW)


@pytest.mark.parametrize(("changes", "why"), [
    ({"aud": "another-api"}, "[Aa]udience"),
    ({"iss": "someone-else"}, "[Ii]ssuer"),
    ({"sub": None}, "sub"),
    ({"exp": None}, "exp"),
], ids=["audience", "issuer", "no-sub", "no-exp"])
def test_issue_7_a_token_for_another_audience_or_issuer_or_without_claims_is_refused(
        changes: dict[str, object], why: str) -> None:
    token = jwt.encode(_claims(**changes), OLD.secret, algorithm="HS256",
                       headers={"kid": "old"})
    with pytest.raises(TokenInvalid, match=why):
        verify(RING, token, now=NOW)


def test_issue_7_key_rotation_keeps_old_tokens_until_the_old_key_is_retired() -> None:
    old_token = issue(RING, "AGG-1", Role.AGGREGATOR, now=NOW, ttl=TTL)
    rotated = Keyring((NEW, OLD))
    new_token = issue(rotated, "AGG-2", Role.AGGREGATOR, now=NOW, ttl=TTL)
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    assert verify(rotated, old_token, now=NOW).participant_id == "AGG-1"
    assert verify(rotated, new_token, now=NOW).participant_id == "AGG-2"
    retired = Keyring((NEW,))
    assert verify(retired, new_token, now=NOW).participant_id == "AGG-2"
    with pytest.raises(TokenInvalid, match="unknown key 'old'"):
        verify(retired, old_token, now=NOW)


def test_signing_keys_need_a_kid_and_32_bytes_of_secret() -> None:
    assert SigningKey("k", b"s" * 32).secret == b"s" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKey("k", b"s" * 31)
    with pytest.raises(ValueError, match="kid"):
        SigningKey("", b"s" * 32)


def test_a_keyring_needs_keys_with_distinct_kids() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        Keyring(())
    with pytest.raises(ValueError, match="differ"):
        Keyring((OLD, SigningKey("old", b"z" * 32)))


# --- where keys come from -------------------------------------------------------------


def test_parse_keys_of_the_environment_form() -> None:
    keys = parse_keys(f" a:{'1' * 32} ,, b:{'2' * 16}:{'3' * 16},", separator=",")
    assert keys == (SigningKey("a", b"1" * 32), SigningKey("b", b"2" * 16 + b":" + b"3" * 16))


def test_parse_keys_of_the_file_form_skips_comments_and_blank_lines() -> None:
    text = (f"# signing keys, newest first\n\nk2 {'2' * 40}\n   \n"
            f"  k1 {'1' * 32}   # retire after 2026-12-02\n")
    assert parse_keys(text, separator="\n") == (SigningKey("k2", b"2" * 40),
                                                SigningKey("k1", b"1" * 32))


def test_parse_keys_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError, match="'a'"):
        parse_keys("a:tooshort", separator=",")


def _settings(tmp_path: Path, **fields: object) -> Settings:
    fields.setdefault("database_url", f"sqlite:///{tmp_path / 'x.db'}")
    return Settings(**fields)  # type: ignore[arg-type]


def test_issue_7_production_refuses_to_start_without_signing_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FLEXMARKET_AUTH_KEYS"):
        keyring(_settings(tmp_path, profile="production", auth_keys=""))


def test_issue_7_production_refuses_the_default_postgres_password(tmp_path: Path) -> None:
    stack_url = Settings().postgres_url
    assert ":flexmarket@" in stack_url
    with pytest.raises(ConfigurationError, match="FLEXMARKET_POSTGRES_PASSWORD"):
        keyring(_settings(tmp_path, profile="production", auth_keys=TEST_AUTH_KEYS,
                          database_url=stack_url))


def test_issue_7_production_on_configured_secrets_uses_the_configured_keys(
        tmp_path: Path) -> None:
    ring = keyring(_settings(tmp_path, profile="production", auth_keys=TEST_AUTH_KEYS))
    assert [k.kid for k in ring.keys] == ["test-1"]
    assert DEMO_KEY not in ring.keys


def test_issue_7_production_accepts_a_postgresql_url_of_ones_own(tmp_path: Path) -> None:
    own = "postgresql+psycopg://market:a-real-password@db.internal:5432/market"
    assert keyring(_settings(tmp_path, profile="production", auth_keys=TEST_AUTH_KEYS,
                             database_url=own)).signing.kid == "test-1"


def test_issue_7_the_demo_profile_falls_back_to_the_demo_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, profile="demo", auth_keys="",
                         database_url=Settings().postgres_url)
    assert keyring(settings).keys == (DEMO_KEY,)


def test_keyring_reads_the_environment_keys_then_the_files(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"f1 {'f' * 32}\n")
    ring = keyring(_settings(tmp_path, auth_keys=TEST_AUTH_KEYS, auth_keys_file=key_file))
    assert [k.kid for k in ring.keys] == ["test-1", "f1"]
    missing = _settings(tmp_path, auth_keys_file=tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match="nowhere"):
        keyring(missing)


# --- the key file ---------------------------------------------------------------------


def test_issue_7_add_key_creates_an_owner_only_file_and_puts_the_new_key_first(
        tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "auth_keys"
    first = add_key(path, now=NOW)
    assert re.fullmatch(r"k20261201T120000-[0-9a-f]{6}", first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = add_key(path, now=NOW + timedelta(days=1))
    keys = parse_keys(path.read_text(), separator="\n")
    assert [k.kid for k in keys] == [second, first]
    assert second.startswith("k20261202T120000-")
    assert all(len(k.secret) >= 32 for k in keys) and keys[0].secret != keys[1].secret
    ring = keyring(_settings(tmp_path, auth_keys_file=path))
    assert ring.signing.kid == second


def test_two_keys_added_in_one_second_get_different_kids(tmp_path: Path) -> None:
    path = tmp_path / "auth_keys"
    first, second = add_key(path, now=NOW), add_key(path, now=NOW)
    assert first != second
    assert [k.kid for k in parse_keys(path.read_text(), separator="\n")] == [second, first]


def test_issue_7_retire_key_removes_one_and_refuses_the_last_or_an_unknown_kid(
        tmp_path: Path) -> None:
    path = tmp_path / "auth_keys"
    old = add_key(path, now=NOW)
    new = add_key(path, now=NOW + timedelta(hours=1))
    with pytest.raises(ConfigurationError, match="no key k-unknown"):
        retire_key(path, "k-unknown")
    retire_key(path, old)
    assert [k.kid for k in parse_keys(path.read_text(), separator="\n")] == [new]
    with pytest.raises(ConfigurationError, match="last key"):
        retire_key(path, new)
    assert [k.kid for k in parse_keys(path.read_text(), separator="\n")] == [new]
