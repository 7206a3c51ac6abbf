"""A market on the real stack for integration tests: isolated topics, a SQLite read model,
registered PoDs, a worker projecting them, and the API in process on a given clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select

from ledger.catalog import new_event
from ledger.faust_app import PROCESSORS
from ledger.kafka_log import end_offsets
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.store.models import PodRow
from ledger.topics import Topic, topic_name
from ledger.worker_process import WorkerProcess
from market.api.app import create_app
from market.domain.clock import Clock
from tests.builders import make_location, make_max_flexibility, make_pod_registered
from tests.integration.projection_harness import isolated, publish


@dataclass
class Market:
    settings: Settings
    engine: Engine
    worker: WorkerProcess

    def submissions_on_log(self) -> int:
        """Records on the requests and offers topics, all partitions."""
        names = [topic_name(self.settings, t) for t in (Topic.REQUESTS, Topic.OFFERS)]
        return sum(end_offsets(self.settings, names).values())

    def wait_until(self, query, expected, what: str, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
        def holds() -> bool:
            with self.engine.connect() as conn:
                return conn.scalar(query) == expected
        self.worker.wait_until(holds, what=what, timeout_s=timeout_s)

    @contextmanager
    def client(self, clock: Clock | None = None,
               headers: dict[str, str] | None = None) -> Iterator[TestClient]:
        """The API in process; ``headers`` go with every request (e.g. a bearer token)."""
        with TestClient(create_app(self.settings, clock=clock), headers=headers,
                        raise_server_exceptions=False) as client:
            yield client


# Two aggregators' PoDs on the DSO's default grid (CIGRE MV): AGG-1 has POD-000001 and
# POD-000002 under feeder PS-1-F1, and POD-000003 under PS-1-F2; AGG-2 has POD-000004
# under PS-1-F1.
PODS = [
    make_pod_registered(pod_id="POD-000001"),
    make_pod_registered(pod_id="POD-000002", customer_id="CUST-2"),
    make_pod_registered(pod_id="POD-000003", customer_id="CUST-3",
                        location=make_location(mv_feeder="PS-1-F2",
                                               secondary_substation="SS-13")),
    make_pod_registered(pod_id="POD-000004", aggregator_id="AGG-2", customer_id="CUST-4",
                        max_flexibility=make_max_flexibility(up_p_kw=50.0)),
]


# Every processor but the DSO's forecast requests: on the real clock it would post for
# whatever real session is open while a test counts what was written. Tests of it ask
# for processors="all".
MARKET_PROCESSORS = ",".join(name for name in PROCESSORS if name != "dso_requests")


@contextmanager
def running_market(stack: Settings, tmp: Path, **overrides: object) -> Iterator[Market]:
    """A worker over isolated topics and a SQLite read model, with PODS registered."""
    url = f"sqlite:///{tmp / 'market.db'}"
    settings = isolated(stack, database_url=url,
                        **{"processors": MARKET_PROCESSORS, **overrides})
    upgrade(url)
    publish(settings, [new_event(p, actor=p.aggregator_id) for p in PODS])
    engine = create_engine(url)
    with WorkerProcess(settings, tmp / "worker.log") as worker:
        market = Market(settings, engine, worker)
        market.wait_until(select(func.count()).select_from(PodRow), len(PODS),
                          "PoDs projected")
        yield market
    engine.dispose()
