"""API load: sustained offer submissions from a second process against the API as it is
served (``flexmarket serve``, uvicorn), each with a bearer token, published to Kafka and
projected; beside a trivial endpoint of the same server in the same run (``GET
/v1/health``, no database, no broker), the ceiling the offers are compared with.

Run by ``make bench``; prints a readable summary and, as its last line, one JSON object.
Issue 7's aim: p99 under 50 ms at 500 offers/s. ``python -m bench.api_load --seconds 60
--rate 500``; ``drive()`` is also what the suite's load test runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import Engine, create_engine, func, select

from bench._common import bench_settings, pod_ids, pod_registrations
from ledger.auth.client import request_token
from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.producer import EventProducer
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import PodRow
from ledger.topics import ensure_topics
from ledger.worker_process import WorkerProcess, api_answers, free_port
from market.domain.calendar import SessionKind, day_sessions
from market.store.models import FlexOfferRow

AGGREGATOR = "AGG-1"  # bench._common's PoDs are AGG-1's
POD_RUN = "LOAD"
AIM_P99_MS, AIM_OFFERS_PER_S = 50.0, 500.0


@dataclass(frozen=True)
class Load:
    """What one driven run measured: answers per second and latency per answer."""

    requests: int
    per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


async def _drive(url: str, token: str, seconds: float, rate: float | None, concurrency: int,
                 body: dict | None, pods: list[str]) -> Load:  # type: ignore[type-arg]
    """``concurrency`` clients send for ``seconds``: POSTs of ``body`` for each PoD in
    turn, paced to ``rate`` a second (``None``: as fast as answered), or GETs without a
    body. Latency runs from a request's send to its answer."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    numbers = count()
    headers = {"Authorization": f"Bearer {token}"}
    # aiohttp, not httpx: httpx spends ~3 ms of CPU a request, and would measure itself.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def client_loop() -> None:
            while True:
                n = next(numbers)
                # A load the server cannot keep up with ends on time all the same.
                if time.perf_counter() >= deadline:
                    return
                if rate is not None:
                    slot = start + n / rate
                    if slot >= deadline:
                        return
                    await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                sent = time.perf_counter()
                try:
                    if body is None:
                        request = client.get(url)
                    else:
                        request = client.post(url, json={**body, "pod_id": pods[n % len(pods)]})
                    async with request as answer:
                        await answer.read()
                        statuses[str(answer.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - sent) * 1000)

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ok = sum(v for k, v in statuses.items() if k in ("200", "201"))
    ordered = sorted(latencies)
    return Load(requests=len(latencies), per_s=round(ok / elapsed, 1),
                p50_ms=round(_percentile(ordered, 0.50), 2),
                p99_ms=round(_percentile(ordered, 0.99), 2),
                errors=len(latencies) - ok, statuses=dict(statuses))


def offer_body() -> dict:  # type: ignore[type-arg]
    """A valid offer of the bench's PoDs (each 6 kW up): 2 kW in four evening MTUs."""
    return {"aggregator_id": AGGREGATOR, "market_type": "DA", "quantity_type": "P",
            "direction": "up", "divisible": True,
            "steps": [{"mtu": m, "quantity": 2.0, "price_eur_per_mwh": 120.0}
                      for m in range(72, 76)]}


def drive(base_url: str, token: str, *, what: str, seconds: float, rate: float | None,
          concurrency: int, session_id: str = "", pods: int = 0) -> Load:
    """Drive the API from a second process (this module's ``--drive`` mode), so the
    server and the load do not share an interpreter. ``what``: ``offers`` (for the
    first ``pods`` PoDs of ``served_market``) or ``hello``."""
    command = [sys.executable, "-m", "bench.api_load", "--drive", what, "--url", base_url,
               "--token", token, "--seconds", str(seconds), "--concurrency", str(concurrency),
               "--session", session_id, "--pods", str(pods)]
    if rate is not None:
        command += ["--rate", str(rate)]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=seconds + 120)
    return Load(**json.loads(done.stdout.strip().splitlines()[-1]))


def open_session(zone: ZoneInfo) -> tuple[str, datetime]:
    """Tomorrow's day-ahead session and a moment its gate is open."""
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    session = next(s for s in day_sessions(tomorrow, zone) if s.kind is SessionKind.DAY_AHEAD)
    return session.session_id, session.opens_at + timedelta(minutes=1)


@dataclass
class Served:
    engine: Engine
    base_url: str
    token: str
    session_id: str
    pods: int

    def offers_projected(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(FlexOfferRow)) or 0

    def wait_projected(self, offers: int, timeout_s: float = 120.0) -> None:
        """Wait until ``offers`` offers are projected, or the time is up."""
        deadline = time.monotonic() + timeout_s
        while self.offers_projected() < offers and time.monotonic() < deadline:
            time.sleep(0.5)


@contextmanager
def served_market(settings: Settings, pods: int) -> Iterator[Served]:
    """The API served by uvicorn in a process of its own on a clock where tomorrow's DA
    gate is open, a worker projecting, ``pods`` PoDs registered, and a token for their
    aggregator from the token endpoint."""
    session_id, open_at = open_session(ZoneInfo(settings.time_zone))
    settings = settings.model_copy(update={
        "api_port": free_port(), "processors": "projector", "clock": "simulated",
        "clock_start": open_at, "clock_anchor": datetime.now(UTC), "clock_speed": 1.0,
        "auth_keys": f"bench:{secrets.token_urlsafe(32)}", "profile": "demo"})
    ensure_topics(settings)
    upgrade(settings.read_model_url)
    registrations = pod_registrations(pods, POD_RUN)
    engine = create_engine(settings.read_model_url)
    with engine.begin() as conn:
        secret = register_participant(conn, AGGREGATOR, Role.AGGREGATOR, now=datetime.now(UTC))
    log_dir = settings.var_dir / "log"
    with WorkerProcess(settings, log_dir / "bench-api-worker.log") as worker, \
            WorkerProcess(settings, log_dir / "bench-api-serve.log", command=("serve",)) as api:
        with EventProducer(settings) as producer:
            producer.publish_all(registrations)

        def projected() -> bool:
            with engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(PodRow)) == pods
        worker.wait_until(projected, what="the PoDs projected", timeout_s=120)
        base_url = settings.api_base_url
        api.wait_until(lambda: api_answers(settings), what="the API", timeout_s=60)
        yield Served(engine, base_url, request_token(base_url, AGGREGATOR, secret),
                     session_id, pods)
    engine.dispose()


def _run_driver(args: argparse.Namespace) -> None:
    url = f"{args.url}/v1/health" if args.drive == "hello" else \
        f"{args.url}/v1/sessions/{args.session}/offers"
    body = None if args.drive == "hello" else offer_body()
    load = asyncio.run(_drive(url, args.token, args.seconds, args.rate, args.concurrency,
                              body, pod_ids(int(args.pods), POD_RUN)))
    print(json.dumps(asdict(load)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the offer load")
    parser.add_argument("--rate", type=float, default=None,
                        help=f"offers a second the load aims at (default {AIM_OFFERS_PER_S:g})")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--pods", type=int, default=500, help="PoDs registered")
    parser.add_argument("--hello-seconds", type=float, default=10.0)
    parser.add_argument("--drive", choices=("offers", "hello"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--session", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        _run_driver(args)  # without --rate: as fast as the server answers
        return
    args.rate = AIM_OFFERS_PER_S if args.rate is None else args.rate
    with served_market(bench_settings(), args.pods) as served:
        print(f"API load: {args.seconds:g} s of offers at {args.rate:g}/s from a second "
              f"process, {args.concurrency} clients, {served.pods} PoDs, on "
              f"{served.base_url}", flush=True)
        hello = drive(served.base_url, served.token, what="hello",
                      seconds=args.hello_seconds, rate=None, concurrency=args.concurrency)
        offers = drive(served.base_url, served.token, what="offers", seconds=args.seconds,
                       rate=args.rate, concurrency=args.concurrency,
                       session_id=served.session_id, pods=served.pods)
        accepted = offers.statuses.get("201", 0)
        served.wait_projected(accepted)
        projected = served.offers_projected()
    ratio = round(offers.per_s / hello.per_s, 3) if hello.per_s else None
    print(f"  GET /v1/health (ceiling): {hello.per_s:,.0f}/s, p50 {hello.p50_ms} ms, "
          f"p99 {hello.p99_ms} ms, {hello.errors} errors")
    print(f"  POST offers: {offers.per_s:,.1f}/s of {args.rate:g} aimed, p50 "
          f"{offers.p50_ms} ms, p99 {offers.p99_ms} ms, {offers.errors} errors "
          f"{offers.statuses}; {projected:,} of {accepted:,} accepted offers projected")
    print(f"  offers/hello: {ratio}; aim p99 < {AIM_P99_MS:g} ms at {AIM_OFFERS_PER_S:g}/s: "
          + ("met" if offers.p99_ms < AIM_P99_MS and offers.per_s >= 0.99 * AIM_OFFERS_PER_S
             else "not met"))
    print(json.dumps({"offers_per_s": offers.per_s, "p50_ms": offers.p50_ms,
                      "p99_ms": offers.p99_ms, "errors": offers.errors,
                      "hello_per_s": hello.per_s, "hello_p99_ms": hello.p99_ms,
                      "ratio": ratio, "rate_aimed": args.rate, "seconds": args.seconds,
                      "offers_accepted": accepted, "offers_projected": projected}))


if __name__ == "__main__":
    main()
