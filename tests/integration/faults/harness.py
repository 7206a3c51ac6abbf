"""What the fault suite shares: services of its own to break, a supervisor that restarts
a worker that exits, and the checks every fault ends with.

Faults hit only what a test started itself, on loopback: a Kafka broker, a PostgreSQL
cluster or an anvil of its own, never the shared stack that other tests and people use
at the same time.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from deploy.stack.kafka import Kafka
from deploy.stack.node_tools import Anvil
from deploy.stack.postgres import Postgres
from ledger.chain import AnchorLedger
from ledger.envelope import parse_event
from ledger.kafka_log import committed_offsets, end_offsets, read_partitions
from ledger.settings import Settings
from ledger.store.digest import normalise
from ledger.store.migrate import upgrade
from ledger.store.models import AnchorBatchRow, Base, EventRow, ProjectorOffset
from ledger.topics import PROJECTED_TOPICS, Topic, topic_name
from ledger.worker_process import WorkerProcess, WorkerWaitFailed, free_port
from tests.integration.anchoring_harness import assert_contiguous_cover, chain_batches, log_ends
from tests.integration.projection_harness import NO_CHAIN, isolated

# The marks of every fault test: real services, tens of seconds, and bounded as a whole
# besides the timeout of each of its waits.
FAULT_TEST = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]


class Supervisor:
    """One worker on fixed settings, kept running as a process supervisor would: a worker
    that exits on its own (an infrastructure fault makes it exit 75) is started again on
    the same settings, hence in the same consumer group, and its exit status recorded.

    Each worker logs to a file of its own (``<name>-<n>.log``) in ``log_dir``.
    """

    def __init__(self, settings: Settings, log_dir: Path, name: str = "worker",
                 max_restarts: int = 3) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.name = name
        self.max_restarts = max_restarts
        self.exits: list[int] = []  # exit statuses of workers that stopped by themselves
        self.started = 0
        self.worker = self.start()

    def start(self) -> WorkerProcess:
        """Start a new worker (after ``kill``, or on entering)."""
        self.started += 1
        self.worker = WorkerProcess(self.settings,
                                    self.log_dir / f"{self.name}-{self.started}.log").start()
        return self.worker

    def kill(self) -> None:
        """SIGKILL the worker: no shutdown, no final commit. ``start`` replaces it."""
        self.worker.kill()

    def wait_until(self, condition: Callable[[], bool], *, what: str, timeout_s: float,
                   poll_s: float = 0.2) -> None:
        """Poll ``condition`` until it holds, restarting the worker whenever it exits.

        Raises:
            WorkerWaitFailed: time ran out, or the worker exited more than
                ``max_restarts`` times.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.worker.wait_until(condition, what=what, poll_s=poll_s,
                                       timeout_s=max(deadline - time.monotonic(), 0.0))
                return
            except WorkerWaitFailed:
                if self.worker.alive() or self.worker.proc is None:
                    raise
                self.exits.append(self.worker.proc.returncode)
                if len(self.exits) > self.max_restarts:
                    raise
                self.start()

    def logs(self) -> str:
        """Every worker's log, oldest first."""
        return "".join((self.log_dir / f"{self.name}-{n}.log").read_text(errors="replace")
                       for n in range(1, self.started + 1))

    def stop(self) -> None:
        self.worker.stop()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port_pair() -> int:
    """A port free on loopback whose successor is free too (a broker and its controller)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock, suppress(OSError):
            sock.bind(("127.0.0.1", port + 1))
            return port
    raise RuntimeError("no two consecutive free ports on loopback")


@contextmanager
def own_kafka(stack: Settings, tmp: Path) -> Iterator[Kafka]:
    """A single-node Kafka broker of this test's own on free loopback ports (its
    controller listens on the port after its own), stopped afterwards, its data left in
    ``tmp``. Callers point ``kafka_bootstrap`` at ``host:port``."""
    var = tmp / "kafka-var"
    var.mkdir(parents=True)
    # The jars `stack up` fetched from Maven Central, shared rather than fetched again.
    (var / "kafka-lib").symlink_to(stack.var_dir / "kafka-lib", target_is_directory=True)
    broker = Kafka(stack.model_copy(update={
        "var_dir": var, "kafka_bootstrap": f"127.0.0.1:{free_port_pair()}"}))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@contextmanager
def own_postgres(stack: Settings, tmp: Path) -> Iterator[Postgres]:
    """A PostgreSQL cluster of this test's own on a free loopback port, with the project's
    role and database; stopped and deleted afterwards.

    As root its files live under /var/lib/postgresql (the server's user cannot enter a
    pytest folder), which is why they are deleted here rather than left with ``tmp``.
    """
    cluster = Postgres(stack.model_copy(update={"var_dir": tmp / "postgres-var",
                                                "postgres_port": free_port()}))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


def stop_chain(node: Anvil) -> None:
    """Stop anvil (SIGTERM) and check it wrote its state file as it exited: what a
    restart loads, so that the chain keeps what it had."""
    # Compared with the file's own earlier time, not the clock: file times come from a
    # coarser clock and may lag time.time() by milliseconds.
    before = node.state_file.stat().st_mtime_ns if node.state_file.exists() else None
    node.stop()
    assert node.state_file.exists() and node.state_file.stat().st_mtime_ns != before, \
        "anvil wrote no state as it stopped"


def fault_settings(stack: Settings, tmp: Path, **overrides: object) -> Settings:
    """Isolated settings (own topics and group) with var/ and a SQLite read model in
    ``tmp``, no chain; ``overrides`` win."""
    return isolated(stack, **{"var_dir": tmp / "var",
                              "database_url": f"sqlite:///{tmp / 'read_models.db'}",
                              **overrides})


def read_model(url: str) -> Engine:
    """An engine on a read model, migrated; pre-pinging, so it outlives a server restart."""
    upgrade(url)
    return create_engine(url, pool_pre_ping=True)


def log_event_ids(settings: Settings) -> set[str]:
    """The id of every event on every projected topic, read from offset 0.

    A set: an event may stand on the log more than once (a producer or processor that
    sent it again after a fault), and the read models keep it once.
    """
    names = [topic_name(settings, t) for t in PROJECTED_TOPICS]
    ranges = {k: (0, end) for k, end in end_offsets(settings, names).items()}
    return {str(parse_event(r.value or b"").event_id) for r in read_partitions(settings, ranges)}


def committed(settings: Settings, topics: Iterable[Topic]) -> int:
    """Records of ``topics`` the settings' consumer group has committed, all partitions."""
    names = [topic_name(settings, t) for t in topics]
    return sum(committed_offsets(settings, settings.app_id, names).values())


def records_on(settings: Settings, topics: Iterable[Topic]) -> int:
    """Records on ``topics``, all partitions."""
    return sum(end_offsets(settings, [topic_name(settings, t) for t in topics]).values())


def projected_to_log_end(settings: Settings, engine: Engine) -> bool:
    """Whether the projector has stored the last offset of every projected partition."""
    names = [topic_name(settings, t) for t in PROJECTED_TOPICS]
    ends = end_offsets(settings, names)
    with engine.connect() as conn:
        done = {(t, p): o for t, p, o in conn.execute(
            select(ProjectorOffset.topic, ProjectorOffset.partition, ProjectorOffset.offset))}
    return all(done.get(k, -1) >= end - 1 for k, end in ends.items() if end)


def anchored_and_projected(settings: Settings, engine: Engine) -> bool:
    """Whether the chain covers every anchored partition to its end, every batch on chain
    is a row of ``anchor_batches``, and the projector has read every projected partition
    to its end (the batches' announcements included)."""
    ledger = AnchorLedger.open(settings)
    if any(ledger.next_offset(s) != end for s, end in log_ends(settings).items()):
        return False
    batches = sum(len(b) for b in chain_batches(settings).values())
    with engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(AnchorBatchRow))
    return rows == batches and projected_to_log_end(settings, engine)


def assert_each_event_projected_once(settings: Settings, engine: Engine) -> int:
    """Every event on the log is exactly one row of ``events``, and every row is one of
    them: nothing lost, nothing twice, nothing invented. Returns the number of events."""
    on_log = log_event_ids(settings)
    with engine.connect() as conn:
        rows = list(conn.execute(select(EventRow.event_id)).scalars())
    assert len(rows) == len(set(rows)), "an event was projected twice"
    missing, extra = on_log - set(rows), set(rows) - on_log
    assert not missing, f"{len(missing)} events on the log were never projected"
    assert not extra, f"{len(extra)} projected events are on no topic"
    return len(rows)


def assert_anchor_rows_match_chain(settings: Settings, engine: Engine) -> int:
    """The projected ``anchor_batches`` are the chain's batches, each once. Returns how
    many there are."""
    on_chain = sorted((a.batch.stream.topic, a.batch.stream.partition, a.batch.first_offset,
                       a.batch.last_offset, "0x" + a.batch.root.hex(), a.tx_hash)
                      for batches in chain_batches(settings).values() for a in batches)
    with engine.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(select(
            AnchorBatchRow.topic, AnchorBatchRow.partition, AnchorBatchRow.first_offset,
            AnchorBatchRow.last_offset, AnchorBatchRow.root, AnchorBatchRow.tx_hash)))
    assert rows == on_chain
    return len(rows)


def assert_anchored_and_projected_once(settings: Settings, engine: Engine, tmp: Path,
                                       events: int) -> int:
    """What must hold after a fault on a worker that projects and anchors: every anchored
    partition is covered from offset 0 to its end without gap or overlap, every batch on
    chain is one row of ``anchor_batches``, the ``events`` published and the batches'
    announcements are each projected exactly once, and the read models equal a fresh
    replay. Returns the number of batches."""
    assert_contiguous_cover(settings)
    batches = assert_anchor_rows_match_chain(settings, engine)
    # A batch's BatchAnchored is one event, however often it was announced.
    assert assert_each_event_projected_once(settings, engine) == events + batches
    assert_equals_fresh_replay(settings, engine, tmp)
    return batches


def assert_equals_fresh_replay(settings: Settings, engine: Engine, tmp: Path) -> None:
    """The read models equal those a fresh projector builds from offset 0: a new consumer
    group projects the same topics into a new SQLite database, and every table must hold
    the same rows.

    No column is left out: the read models hold no wall-clock bookkeeping (times come
    from the events, offsets from the log).
    """
    url = f"sqlite:///{tmp / 'fresh-replay.db'}"
    fresh = read_model(url)
    # The projector's default batches: a fault test's small ones would only slow it.
    batches = {f: Settings.model_fields[f].default
               for f in ("projector_batch_size", "projector_batch_seconds")}
    replay = settings.model_copy(update={"app_id": f"{settings.app_id}-replay",
                                         "database_url": url, "processors": "projector",
                                         "chain_url": NO_CHAIN, **batches})
    worker = WorkerProcess(replay, tmp / "fresh-replay.log").start()
    try:
        worker.wait_until(lambda: projected_to_log_end(replay, fresh),
                          what="a fresh replay of the log", timeout_s=120)
    finally:
        worker.kill()  # a group and database of its own: nothing left worth a clean stop
    ours, theirs = table_rows(engine), table_rows(fresh)
    fresh.dispose()
    for table, rows in ours.items():
        assert len(rows) == len(theirs[table]), \
            f"{table}: {len(rows)} rows, a fresh replay has {len(theirs[table])}"
        unlike = next(((a, b) for a, b in zip(rows, theirs[table], strict=True) if a != b), None)
        assert unlike is None, f"{table} differs from a fresh replay: {unlike}"


def table_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every read-model table's rows, each value in one form whatever the backend, in one
    order.

    Rows rather than ``ledger.store.digest.table_digests``: they show where two
    databases differ.
    """
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = [{k: _plain(v) for k, v in row.items()}
                    for row in conn.execute(select(table)).mappings()]
            tables[table.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return tables


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return normalise(value)
