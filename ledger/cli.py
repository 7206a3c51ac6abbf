"""The ``flexmarket`` command: the stack, the read models, the worker, the API, the demo."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from ledger.audit.cli import audit, chain
from ledger.auth.cli import keys, participants
from ledger.settings import get_settings


@click.group()
def main() -> None:
    """flexmarket: a local flexibility market for distribution grids."""
    from ledger.logs import configure_logging

    configure_logging(get_settings().log_level)


@main.group()
def stack() -> None:
    """Install, start, stop and inspect the local stack (Kafka, PostgreSQL, solc, anvil)."""


_only = click.option("--only", default="", help="comma-separated services, e.g. kafka,postgres")


def _chosen(only: str) -> list:  # type: ignore[type-arg]
    from deploy.stack.services import services

    names = tuple(n.strip() for n in only.split(",") if n.strip())
    try:
        return services(get_settings(), names)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None


@stack.command("up")
@_only
def stack_up(only: str) -> None:
    """Install what is missing and start the services (idempotent)."""
    from deploy.stack.base import StackError
    from ledger.topics import ensure_topics

    for service in _chosen(only):
        click.echo(f"· {service.name} …", nl=False)
        try:
            service.start()
        except StackError as exc:
            click.echo(" failed")
            raise click.ClickException(str(exc)) from None
        click.echo(f" up at {service.status().where}")
    if not only or "kafka" in only:
        created = ensure_topics(get_settings())
        click.echo(f"· topics: {len(created)} created" if created else "· topics: present")
    if not only or "anvil" in only:
        from ledger.chain import ensure_deployed

        deployment, made = ensure_deployed(get_settings())
        click.echo(f"· contracts: {'deployed' if made else 'present'}, EventAnchor at "
                   f"{deployment.addresses['EventAnchor']}")


@stack.command("down")
@_only
def stack_down(only: str) -> None:
    """Stop the services (data under var/ is kept)."""
    for service in reversed(_chosen(only)):
        service.stop()
        click.echo(f"· {service.name} stopped")


@stack.command("status")
@_only
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def stack_status(only: str, as_json: bool) -> None:
    """Say what runs where; exit status 1 when something is down."""
    statuses = [service.status() for service in _chosen(only)]
    if as_json:
        click.echo(json.dumps([asdict(s) for s in statuses]))
    else:
        for s in statuses:
            state = "running" if s.running else "stopped"
            click.echo(f"{s.name:<9} {state:<8} {s.where:<24} {s.detail}")
    sys.exit(0 if all(s.running for s in statuses) else 1)


@main.command("topics")
def topics() -> None:
    """Create the catalog topics that are missing, with explicit partitions and settings."""
    from ledger.topics import catalog_topics, ensure_topics

    settings = get_settings()
    created = set(ensure_topics(settings))
    for spec in catalog_topics(settings):
        mark = "created" if spec.name in created else "present"
        click.echo(f"{spec.name:<32} {spec.partitions} partitions  {mark}")


@main.group()
def db() -> None:
    """Read-model database: migrations and digests."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations (to the newest by default)."""
    from ledger.store.migrate import upgrade

    upgrade(get_settings().read_model_url, revision)
    click.echo(f"read models at {revision}")


@db.command("downgrade")
@click.argument("revision", default="base")
def db_downgrade(revision: str) -> None:
    """Undo Alembic migrations (all by default)."""
    from ledger.store.migrate import downgrade

    downgrade(get_settings().read_model_url, revision)
    click.echo(f"read models at {revision}")


@db.command("digest")
def db_digest() -> None:
    """Print a SHA-256 per table over its rows; equal logs give equal digests."""
    from sqlalchemy import create_engine

    from ledger.store.digest import table_digests

    engine = create_engine(get_settings().read_model_url)
    click.echo(json.dumps(table_digests(engine), indent=2, sort_keys=True))


@main.command("worker")
def worker() -> None:
    """Run every stream processor (projector, anchor) until stopped."""
    from ledger.faust_app import run_worker

    run_worker(get_settings())


@main.command("demo")
@click.option("--pods", default=300, show_default=True, help="PoDs to register")
def demo(pods: int) -> None:
    """Start the stack, register PoDs, and run one market day on a simulated clock: the
    day-ahead and six real-time sessions, delivery, settlement, an audit, a summary."""
    from ledger.demo import run_demo

    run_demo(get_settings(), pods=pods)


@main.command("serve")
def serve() -> None:
    """Serve the REST API (FLEXMARKET_API_HOST:FLEXMARKET_API_PORT) until stopped."""
    import uvicorn

    from ledger.auth.keys import ConfigurationError, check_secrets
    from market.api.app import create_app

    settings = get_settings()
    try:
        check_secrets(settings)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.api_workers == 1:
        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                    log_level=settings.log_level.lower())
        return
    # Several processes each build the app from the same environment.
    uvicorn.run("market.api.app:create_app", factory=True, workers=settings.api_workers,
                host=settings.api_host, port=settings.api_port,
                log_level=settings.log_level.lower())


@main.command("kpis")
@click.argument("delivery_day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--customers-contacted", type=click.IntRange(min=0), default=None,
              help="KPI_PR_01's customers contacted (from the recruitment campaign)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def kpis(delivery_day, customers_contacted: int | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """The end-of-day KPI report of DELIVERY_DAY (Platone Annex C) from the read models."""
    from sqlalchemy import create_engine

    from market.kpi_report import end_of_day_report

    settings = get_settings()
    engine = create_engine(settings.read_model_url)
    with engine.connect() as conn:
        lines = end_of_day_report(conn, settings, delivery_day.date(), customers_contacted)
    engine.dispose()
    if as_json:
        click.echo(json.dumps([line.as_dict() for line in lines], indent=2))
        return
    click.echo(f"KPIs of {delivery_day.date()} (Platone Annex C)")
    for line in lines:
        value = "   n/a" if line.value_pct is None else f"{line.value_pct:6.1f}"
        verdict = {True: "met", False: "not met", None: "-"}[line.met]
        bound = ">=" if line.sense == "at_least" else "<="
        click.echo(f"  {line.kpi:<10} {line.scope:<28} {value} %  (target {bound} "
                   f"{line.target_pct:g} %: {verdict}; {line.terms} terms, "
                   f"{line.excluded} excluded)")


main.add_command(chain)
main.add_command(audit)
main.add_command(participants)
main.add_command(keys)

if __name__ == "__main__":
    main()
