"""Alembic environment: runs migrations against the configured read-model database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from ledger.settings import get_settings
from ledger.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().read_model_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
