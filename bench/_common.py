"""What the benchmarks share: their own topics and consumer group on the local stack, a
load of PoD registrations, and waiting on a worker."""

from __future__ import annotations

import atexit
import uuid

from aggregator.domain.events import GridLocation, MaxFlexibility, PodRegistered
from deploy.stack.kafka import Kafka
from deploy.stack.node_tools import Anvil
from deploy.stack.postgres import Postgres
from ledger.catalog import new_event
from ledger.envelope import Event
from ledger.settings import Settings, get_settings
from ledger.topics import delete_prefixed_topics, ensure_topics

LEDGER_PROCESSORS = "projector,anchor"


def bench_settings(*, chain: bool = False) -> Settings:
    """The stack started (with anvil if ``chain``), and settings with topics, a consumer
    group and PostgreSQL read models of this run's own. The worker runs the ledger's
    processors only: these benchmarks measure the backbone, and the DSO's answer to
    every registration would double the events they count."""
    base = get_settings()
    Kafka(base).start()
    Postgres(base).start()
    if chain:
        Anvil(base).start()
    run = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={
        "database_url": base.database_url or _own_database(base, f"bench_{run}"),
        "topic_prefix": f"bench{run}.", "app_id": f"bench-{run}",
        "processors": LEDGER_PROCESSORS})
    ensure_topics(settings)
    # Drop the run's partitions at exit, as its database: the broker would keep them.
    atexit.register(delete_prefixed_topics, settings)
    return settings


def _own_database(settings: Settings, name: str) -> str:
    """A PostgreSQL database of this run's own on the stack, dropped when it ends: the
    read models a benchmark fills never mix with the demo's or another run's."""
    postgres = Postgres(settings)
    postgres.psql(f"CREATE DATABASE {name} OWNER flexmarket")
    atexit.register(postgres.psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return settings.postgres_url.rsplit("/", 1)[0] + f"/{name}"


def pod_registrations(n: int, run: str) -> list[Event]:
    """``n`` distinct PodRegistered events (PoD ids prefixed by ``run``)."""
    location = GridLocation(primary_substation="PS-1", mv_feeder="FDR-1",
                            secondary_substation="SS-1-1")
    limits = MaxFlexibility(up_p_kw=6.0, down_p_kw=3.0, up_q_kvar=0.0, down_q_kvar=0.0)
    return [new_event(PodRegistered(pod_id=pod_id, aggregator_id="AGG-1",
                                    customer_id=f"C-{i:07d}", location=location,
                                    max_flexibility=limits), actor="AGG-1")
            for i, pod_id in enumerate(pod_ids(n, run))]


def pod_ids(n: int, run: str) -> list[str]:
    """The ids of ``pod_registrations(n, run)``'s PoDs."""
    return [f"{run}-{i:07d}" for i in range(n)]
