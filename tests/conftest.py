"""Fixtures shared by every test: the real local stack and isolated settings per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.settings import Settings, get_settings
from tests.auth import TEST_AUTH_KEYS


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Kafka and PostgreSQL of the local stack, started if they are not running; at the
    end, the topics of every isolated test deployment are deleted (a full run makes
    thousands of partitions, which the broker would otherwise keep and load at every
    start)."""
    from deploy.stack.kafka import Kafka
    from deploy.stack.postgres import Postgres
    from ledger.topics import delete_prefixed_topics
    from tests.integration.projection_harness import ISOLATED_PREFIXES

    settings = get_settings().model_copy(update={"auth_keys": TEST_AUTH_KEYS,
                                                 "profile": "demo"})
    for service in (Kafka(settings), Postgres(settings)):
        service.start()
    yield settings
    for prefix in ISOLATED_PREFIXES:
        delete_prefixed_topics(settings.model_copy(update={"topic_prefix": prefix}))


def _fresh_database(stack: Settings, backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of ``backend``, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'read_models.db'}"
        return
    from deploy.stack.postgres import Postgres

    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres = Postgres(stack)
    postgres.psql(f"CREATE DATABASE {name} OWNER flexmarket")
    try:
        yield stack.postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, stack: Settings,
                   tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: the contract suite runs once per backend."""
    yield from _fresh_database(stack, request.param, tmp_path)


@pytest.fixture
def fresh_database_factory(stack: Settings, tmp_path_factory: pytest.TempPathFactory):
    """Make further empty databases of a backend within one test (for replay comparisons)."""
    opened: list[Iterator[str]] = []

    def make(backend: str) -> str:
        gen = _fresh_database(stack, backend, tmp_path_factory.mktemp(backend))
        opened.append(gen)
        return next(gen)

    yield make
    for gen in opened:
        next(gen, None)
