"""The end of ``make demo``: the day's HTML report, and how to browse the run in the
dashboard (a market admin of the run's own, and the settings that serve its data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine

from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.settings import Settings
from market.report import write_day_report

ADMIN = "ADMIN-DEMO"
PORT = 8000  # the demo's own API ran on a free port; this one is for a person to open


def report_and_dashboard(settings: Settings, engine: Engine, day: date,
                         summary: dict[str, Any]) -> None:
    """Write the report of ``day`` beside the run's read models and print how to see
    the run in the dashboard."""
    click.secho("11. the day's report and the dashboard", bold=True)
    path = write_day_report(engine, settings, day,
                            settings.var_dir / "demo" / f"report-{settings.app_id}.html",
                            summary)
    click.echo(f"   report: {path}")
    click.echo("     (Pareto front per session, bus voltages before and after, delivered "
               "against awarded, token flows, KPIs; open it in any browser)")
    with engine.begin() as conn:
        secret = register_participant(conn, ADMIN, Role.MARKET_ADMIN, now=datetime.now(UTC))
    # The day's sessions are over on this clock, as they were when the demo ended.
    after = datetime.combine(day + timedelta(days=1), time(1), tzinfo=ZoneInfo(
        settings.time_zone)).astimezone(UTC)
    click.echo("   the dashboard over this run's data:")
    click.echo(f"     FLEXMARKET_PROFILE=demo FLEXMARKET_DATABASE_URL={settings.database_url} "
               f"FLEXMARKET_TOPIC_PREFIX={settings.topic_prefix} FLEXMARKET_CLOCK=simulated "
               f"FLEXMARKET_CLOCK_START={after:%Y-%m-%dT%H:%M:%SZ} "
               f"FLEXMARKET_CLOCK_ANCHOR=$(date -u +%FT%TZ) FLEXMARKET_API_PORT={PORT} "
               ".venv/bin/flexmarket serve")
    click.echo(f"     then open http://127.0.0.1:{PORT}/dashboard and "
               f"sign in as {ADMIN} with client secret {secret}")
