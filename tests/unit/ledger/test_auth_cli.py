"""Issue 7's admin commands: ``flexmarket participants`` registers who may ask for
tokens (its secret shown once, stored as a hash) and disables them; ``flexmarket keys``
rotates the signing key file, newest first, never down to no key."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine

import ledger.auth.keys as keys_module
import ledger.logs
from ledger.auth.keys import parse_keys
from ledger.auth.roles import Role
from ledger.auth.store import Participant, authenticate
from ledger.cli import main
from ledger.settings import get_settings
from ledger.store.migrate import upgrade


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "read_models.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database(migrated: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite file the CLI's settings point to."""
    path = tmp_path / "read_models.db"
    shutil.copy(migrated, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("FLEXMARKET_DATABASE_URL", url)
    monkeypatch.delenv("FLEXMARKET_AUTH_KEYS_FILE", raising=False)
    # ``main`` points logging and structlog at sys.stderr, which CliRunner swaps for its
    # own buffer: every later test's logs would vanish into it.
    monkeypatch.setattr(ledger.logs, "configure_logging", lambda level: None)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _secret(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _authenticate(url: str, participant_id: str, secret: str) -> Participant | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return authenticate(conn, participant_id, secret)
    finally:
        engine.dispose()


def test_issue_7_participants_add_prints_a_secret_that_authenticates(database: str) -> None:
    added = _run("participants", "add", "AGG-9", "--role", "aggregator")
    assert "AGG-9 registered as aggregator" in added.output
    secret = _secret(added)
    assert len(secret) >= 32
    participant = _authenticate(database, "AGG-9", secret)
    assert participant is not None
    assert (participant.participant_id, participant.role) == ("AGG-9", Role.AGGREGATOR)
    assert participant.disabled_at is None
    assert _authenticate(database, "AGG-9", secret[:-1]) is None


def test_issue_7_adding_a_participant_twice_fails_clearly(database: str) -> None:
    first = _secret(_run("participants", "add", "AGG-9", "--role", "aggregator"))
    again = _run("participants", "add", "AGG-9", "--role", "customer")
    assert again.exit_code != 0
    assert "AGG-9 is registered already" in again.output
    kept = _authenticate(database, "AGG-9", first)
    assert kept is not None and kept.role is Role.AGGREGATOR


def test_participants_add_refuses_a_role_not_in_role(database: str) -> None:
    refused = _run("participants", "add", "X-1", "--role", "root")
    assert refused.exit_code == 2
    assert "root" in refused.output


def test_issue_7_participants_list_shows_each_with_role_and_state(database: str) -> None:
    _secret(_run("participants", "add", "AGG-9", "--role", "aggregator"))
    _secret(_run("participants", "add", "CUST-3", "--role", "customer"))
    listed = _run("participants", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.output.splitlines()]
    assert rows == [["AGG-9", "aggregator", "active"], ["CUST-3", "customer", "active"]]


def test_issue_7_a_disabled_participant_no_longer_authenticates(database: str) -> None:
    secret = _secret(_run("participants", "add", "AGG-9", "--role", "aggregator"))
    disabled = _run("participants", "disable", "AGG-9")
    assert disabled.exit_code == 0, disabled.output
    assert "AGG-9 disabled" in disabled.output
    assert _authenticate(database, "AGG-9", secret) is None
    listed = _run("participants", "list").output.split()
    assert listed[:3] == ["AGG-9", "aggregator", "disabled"]
    again = _run("participants", "disable", "AGG-9")
    assert again.exit_code != 0
    assert "no active participant AGG-9" in again.output


def test_issue_7_new_secret_replaces_the_old_one(database: str) -> None:
    old = _secret(_run("participants", "add", "AGG-9", "--role", "aggregator"))
    new = _secret(_run("participants", "new-secret", "AGG-9"))
    assert new != old
    assert _authenticate(database, "AGG-9", old) is None
    assert _authenticate(database, "AGG-9", new) is not None
    unknown = _run("participants", "new-secret", "NOBODY")
    assert unknown.exit_code != 0
    assert "no active participant NOBODY" in unknown.output


class _Ticking(datetime):
    """``datetime.now`` a second later at each call, from 2026-12-01 12:00:00."""

    calls = 0

    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        cls.calls += 1
        return datetime(2026, 12, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=cls.calls)


def _kids(path: Path) -> list[str]:
    return [k.kid for k in parse_keys(path.read_text(), separator="\n")]


def test_issue_7_keys_new_twice_puts_the_newest_first_and_retire_removes_one(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "datetime", _Ticking)
    path = tmp_path / "auth_keys"
    first, second = _run("keys", "new", "--file", str(path)), \
        _run("keys", "new", "--file", str(path))
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    newest, oldest = _kids(path)
    assert newest.startswith("k20261201T120002-") and oldest.startswith("k20261201T120001-")
    assert f"new signing key {newest}" in second.output
    retired = _run("keys", "retire", oldest, "--file", str(path))
    assert retired.exit_code == 0, retired.output
    assert f"key {oldest} retired" in retired.output
    assert _kids(path) == [newest]


def test_issue_7_keys_retire_refuses_the_last_key_and_an_unknown_one(
        database: str, tmp_path: Path) -> None:
    path = tmp_path / "auth_keys"
    assert _run("keys", "new", "--file", str(path)).exit_code == 0
    (only,) = _kids(path)
    last = _run("keys", "retire", only, "--file", str(path))
    assert last.exit_code != 0
    assert f"{only} is the last key" in last.output
    unknown = _run("keys", "retire", "k-nope", "--file", str(path))
    assert unknown.exit_code != 0
    assert "no key k-nope" in unknown.output
    assert _kids(path) == [only]


def test_keys_use_flexmarket_auth_keys_file_and_say_when_none_is_named(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unnamed = _run("keys", "new")
    assert unnamed.exit_code != 0
    assert "--file or FLEXMARKET_AUTH_KEYS_FILE" in unnamed.output
    path = tmp_path / "from_env"
    monkeypatch.setenv("FLEXMARKET_AUTH_KEYS_FILE", str(path))
    get_settings.cache_clear()
    assert _run("keys", "new").exit_code == 0
    assert len(_kids(path)) == 1


def test_participants_on_an_unmigrated_database_say_to_run_db_upgrade(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXMARKET_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = _run("participants", "add", "DSO-1", "--role", "dso")
    assert result.exit_code == 1
    assert "has no participants table: run `flexmarket db upgrade` first" in result.output
