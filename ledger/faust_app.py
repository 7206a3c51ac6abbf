"""The one Faust application that hosts every stream processor.

The app is built by a factory from the settings (never at import), and each processor
module attaches its agents to it: explicit wiring instead of autodiscovery, so a worker
runs exactly the processors listed in ``PROCESSORS``.
"""

from __future__ import annotations

import importlib

import faust

from ledger.settings import Settings

PROCESSORS: tuple[str, ...] = (
    "ledger.processors.projector", "ledger.processors.anchor",
    "market.processors.scheduler", "market.processors.clearing",
    "market.processors.final_clearing", "dso.processors.validation",
)


def build_app(settings: Settings) -> faust.App:
    """A Faust app on the configured broker with every processor attached."""
    datadir = settings.var_dir / "faust" / settings.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        # A crashed worker's partitions move to its replacement after the session
        # timeout; Faust's default (60 s) makes every restart wait that long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        # By default a rebalance or shutdown waits until every message taken is acked; the
        # anchor processor holds its records until the chain has them, which may be long
        # during an outage. Not waiting is safe: un-acked records are read again.
        stream_wait_empty=False,
    )
    for module in PROCESSORS:
        importlib.import_module(module).attach(app, settings)
    return app


def run_worker(settings: Settings) -> None:
    """Run all processors until SIGTERM/SIGINT (``flexmarket worker``)."""
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.lower().replace("warning", "warn"),
                          quiet=True)
    worker.execute_from_commandline()
