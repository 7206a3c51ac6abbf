"""Alembic migrations on both backends: ``upgrade head`` builds the models' tables exactly,
``downgrade base`` removes them."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ledger.store.migrate import downgrade, upgrade
from ledger.store.models import Base

pytestmark = pytest.mark.integration


def test_upgrade_head_then_downgrade_base(empty_database: str) -> None:
    engine = create_engine(empty_database)
    upgrade(empty_database)
    with engine.connect() as conn:
        drift = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    assert drift == [], f"models and migrations differ: {drift}"
    assert tables == set(Base.metadata.tables) | {"alembic_version"}

    downgrade(empty_database)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}

    upgrade(empty_database)  # and back up again: the round trip is repeatable
    with engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
