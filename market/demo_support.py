"""What the market's stages of ``make demo`` share: the demo's own deployment, its
participants and their bearer tokens, REST submissions, waits on a child process and a
bar of simulated time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
import httpx
from sqlalchemy import Engine, func, select
from tqdm import tqdm

from ledger.auth.client import request_token
from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.kafka_log import committed_offsets, end_offsets
from ledger.settings import Settings
from ledger.topics import INGEST_TOPICS, PROJECTED_TOPICS, topic_name
from ledger.worker_process import WorkerProcess, WorkerWaitFailed
from market.domain.calendar import SessionKind, SessionSlot, day_sessions
from market.domain.clock import SimulatedClock
from market.store.queries import latest_outcome

# The aggregators are ledger.demo's, which registers their PoDs.
PARTICIPANTS = {"DSO-ARETI": Role.DSO, "TSO-TERNA": Role.TSO, "AGG-ROMA-1": Role.AGGREGATOR,
                "AGG-ROMA-2": Role.AGGREGATOR, "AGG-ROMA-3": Role.AGGREGATOR}


@dataclass
class DemoDay:
    """The demo's deployment and the market day it runs.

    Attributes:
        settings: topics ``demo-<run>.``, a SQLite read-model file under ``var/demo``, and
            the simulated clock of the stage that runs now.
        engine: the read models.
        day: the delivery day (tomorrow, local).
        run: the run's id.
        tokens: the Authorization header of each participant.
    """

    settings: Settings
    engine: Engine
    day: date
    run: str
    tokens: dict[str, dict[str, str]]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.time_zone)

    @property
    def sessions(self) -> list[SessionSlot]:
        """The day-ahead session and the six real-time sessions of the day, in order."""
        return day_sessions(self.day, self.zone)

    @property
    def day_ahead(self) -> SessionSlot:
        return next(s for s in self.sessions if s.kind is SessionKind.DAY_AHEAD)

    @property
    def real_time(self) -> list[SessionSlot]:
        return [s for s in self.sessions if s.kind is SessionKind.REAL_TIME]

    @property
    def session_ids(self) -> list[str]:
        return [s.session_id for s in self.sessions]


class ClockBar:
    """A bar of simulated time from now to ``end`` while the demo waits, with the demo's
    lines printed above it."""

    def __init__(self, clock: SimulatedClock, end: datetime, zone: Any) -> None:
        self.clock, self.zone, self.start = clock, zone, clock.now()
        hours = (end - self.start) / timedelta(hours=1)
        self.bar = tqdm(total=round(hours, 2), desc="   simulated time", unit="h",
                        bar_format="{desc} |{bar:40}| {n:.1f} of {total:.1f} h",
                        mininterval=0.5)

    def tick(self) -> None:
        now = self.clock.now()
        hours = min(self.bar.total, round((now - self.start) / timedelta(hours=1), 2))
        self.bar.set_description_str(
            f"   simulated time {now.astimezone(self.zone):%a %H:%M} Rome", refresh=False)
        self.bar.update(hours - self.bar.n)

    def watching(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """``condition``, moving the bar each time it is asked."""
        def check() -> bool:
            self.tick()
            return condition()
        return check

    def until(self, moment: datetime) -> Callable[[], bool]:
        return self.watching(lambda: self.clock.now() >= moment)

    def real_s(self, moment: datetime, slack_s: float) -> float:
        """Real seconds until ``moment``, plus ``slack_s``: a wait's timeout."""
        return self.clock.real_seconds_until(moment) + slack_s

    def say(self, line: str) -> None:
        tqdm.write(line)

    def close(self) -> None:
        self.tick()
        self.bar.close()

    def __enter__(self) -> ClockBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_run() -> str:
    """A run id: the demo's topics, consumer group and read-model file are named after it."""
    return uuid.uuid4().hex[:8]


def sign_in(settings: Settings, engine: Engine) -> dict[str, dict[str, str]]:
    """Register the demo's participants (as `flexmarket participants add` does) and get
    each a bearer token from the token endpoint: the Authorization header per id."""
    with engine.begin() as conn:
        secrets = {pid: register_participant(conn, pid, role, now=datetime.now(UTC))
                   for pid, role in PARTICIPANTS.items()}
    try:
        headers = {pid: {"Authorization": "Bearer " + request_token(
            settings.api_base_url, pid, secret)} for pid, secret in secrets.items()}
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"   {len(headers)} participants registered, each signed in with a bearer "
               f"token: {', '.join(f'{p} ({r})' for p, r in PARTICIPANTS.items())}")
    return headers


def post(client: httpx.Client, url: str, body: dict[str, Any], counts: dict[str, int],
         token: dict[str, str], key: str | None = None, *, quiet: bool = False) -> int:
    """POST a submission; 1 if it was accepted (201), else 0, with a refusal counted in
    ``counts["refused"]`` and, unless ``quiet``, said."""
    answer = client.post(url, json=body,
                         headers={**token, **({"Idempotency-Key": key} if key else {})})
    if answer.status_code == 201:
        return 1
    if answer.status_code == 200:
        click.echo(f"   retry answered from its Idempotency-Key: {answer.json()['code']}")
        return 0
    counts["refused"] = counts.get("refused", 0) + 1
    error = answer.json()
    if not quiet:
        click.echo(f"   refused ({answer.status_code}): {error['code']} on {error['field']}")
    return 0


def ok(answer: httpx.Response, what: str) -> None:
    """A write the demo needs accepted; anything else ends the demo with the answer."""
    if answer.status_code not in (200, 201):
        raise click.ClickException(f"{what} refused ({answer.status_code}): {answer.text}")


def wait_or_fail(process: WorkerProcess, condition, what: str,  # type: ignore[no-untyped-def]
                 timeout_s: float) -> None:
    """Wait for ``condition`` while ``process`` lives; a failure ends the demo with why."""
    try:
        process.wait_until(condition, what=what, timeout_s=timeout_s, poll_s=0.3)
    except WorkerWaitFailed as exc:
        raise click.ClickException(str(exc)) from None


def all_consumed(settings: Settings) -> bool:
    """Whether the deployment's worker committed everything now on the topics it reads:
    stopped then, the next worker reads nothing again (no redelivery, no republished
    answer)."""
    names = [topic_name(settings, t) for t in (*PROJECTED_TOPICS, *INGEST_TOPICS)]
    ends = end_offsets(settings, names)
    done = committed_offsets(settings, settings.app_id, names)
    return all(done.get(k, 0) >= end for k, end in ends.items())


def outcome(engine: Engine, session_id: str, stage: str) -> Any | None:
    """The session's newest market, technical or validated outcome, if any."""
    with engine.connect() as conn:
        return latest_outcome(conn, session_id, stage)


def row_count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0
