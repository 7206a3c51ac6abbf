"""``flexmarket participants`` (who may ask for tokens) and ``flexmarket keys`` (the
token signing keys): the market admin's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.exc import OperationalError

from ledger.auth.keys import ConfigurationError, add_key, retire_key
from ledger.auth.roles import Role
from ledger.auth.store import (
    AlreadyRegistered,
    ParticipantRow,
    disable_participant,
    list_participants,
    new_secret,
    register_participant,
)
from ledger.settings import get_settings


def _engine() -> Engine:
    """The read-model database, once it is reachable and migrated.

    Raises:
        click.ClickException: it does not answer, or has no participants table yet; the
            message names the database (without its password) and what to run.
    """
    engine = create_engine(get_settings().read_model_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        migrated = inspect(engine).has_table(ParticipantRow.__tablename__)
    except OperationalError as exc:
        raise click.ClickException(f"the database at {where} does not answer: "
                                   f"{exc.orig}") from None
    if not migrated:
        raise click.ClickException(f"the database at {where} has no participants table: "
                                   "run `flexmarket db upgrade` first (FLEXMARKET_DATABASE_URL "
                                   "names the database)")
    return engine


@click.group()
def participants() -> None:
    """Register participants and their roles; each gets a client secret for its tokens."""


@participants.command("add")
@click.argument("participant_id")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
def participants_add(participant_id: str, role: str) -> None:
    """Register PARTICIPANT_ID and print its client secret (shown this once only)."""
    try:
        with _engine().begin() as conn:
            secret = register_participant(conn, participant_id, Role(role),
                                          now=datetime.now(UTC))
    except AlreadyRegistered:
        raise click.ClickException(f"{participant_id} is registered already") from None
    click.echo(f"{participant_id} registered as {role}; client secret (shown once):")
    click.echo(secret)


@participants.command("list")
def participants_list() -> None:
    """Every registered participant, its role and whether it is disabled."""
    with _engine().connect() as conn:
        for p in list_participants(conn):
            state = f"disabled {p.disabled_at:%Y-%m-%d %H:%M}" if p.disabled_at else "active"
            click.echo(f"{p.participant_id:<24} {p.role.value:<13} {state}")


@participants.command("new-secret")
@click.argument("participant_id")
def participants_new_secret(participant_id: str) -> None:
    """Replace PARTICIPANT_ID's client secret and print the new one."""
    with _engine().begin() as conn:
        secret = new_secret(conn, participant_id)
    if secret is None:
        raise click.ClickException(f"no active participant {participant_id}")
    click.echo(secret)


@participants.command("disable")
@click.argument("participant_id")
def participants_disable(participant_id: str) -> None:
    """Refuse PARTICIPANT_ID new tokens (the ones it holds expire within
    FLEXMARKET_AUTH_TOKEN_MINUTES; rotate the keys to cut them off at once)."""
    with _engine().begin() as conn:
        if not disable_participant(conn, participant_id, now=datetime.now(UTC)):
            raise click.ClickException(f"no active participant {participant_id}")
    click.echo(f"{participant_id} disabled")


@click.group()
def keys() -> None:
    """The key file of the API's token signing keys (FLEXMARKET_AUTH_KEYS_FILE)."""


_key_file = click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
                         default=None, help="default: FLEXMARKET_AUTH_KEYS_FILE")


def _path(path: Path | None) -> Path:
    chosen = path or get_settings().auth_keys_file
    if chosen is None:
        raise click.ClickException("name the key file: --file or FLEXMARKET_AUTH_KEYS_FILE")
    return chosen


@keys.command("new")
@_key_file
def keys_new(path: Path | None) -> None:
    """Add a new signing key first: it signs after the API restarts, older keys still
    verify the tokens they signed."""
    try:
        kid = add_key(_path(path))
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new signing key {kid}; restart the API to sign with it")


@keys.command("retire")
@click.argument("kid")
@_key_file
def keys_retire(kid: str, path: Path | None) -> None:
    """Remove key KID: tokens it signed stop verifying after the API restarts."""
    try:
        retire_key(_path(path), kid)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {kid} retired")
