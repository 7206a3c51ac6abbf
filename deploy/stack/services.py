"""The services of the local stack, in start order."""

from __future__ import annotations

from deploy.stack.base import Service
from deploy.stack.chromium import Chromium
from deploy.stack.kafka import Kafka
from deploy.stack.node_tools import Anvil, Solc
from deploy.stack.postgres import Postgres
from ledger.settings import Settings

SERVICE_NAMES = ("kafka", "postgres", "solc", "anvil", "chromium")
# Only the browser tests need Chromium (`make test` asks for it by name): the demo and the
# stack's status go without it.
DEFAULT_NAMES = ("kafka", "postgres", "solc", "anvil")


def services(settings: Settings, only: tuple[str, ...] = ()) -> list[Service]:
    """The stack's services (the default ones, or those named in ``only``), in start
    order."""
    unknown = set(only) - set(SERVICE_NAMES)
    if unknown:
        raise ValueError(f"unknown service(s) {sorted(unknown)}; choose from {SERVICE_NAMES}")
    chosen = only or DEFAULT_NAMES
    built: dict[str, Service] = {"kafka": Kafka(settings), "postgres": Postgres(settings),
                                 "solc": Solc(), "anvil": Anvil(settings),
                                 "chromium": Chromium()}
    return [built[name] for name in SERVICE_NAMES if name in chosen]
