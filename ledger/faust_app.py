"""The one Faust application that hosts every stream processor.

The app is built by a factory from the settings (never at import), and each processor
module attaches its agents to it: explicit wiring instead of autodiscovery, so a worker
runs exactly the processors listed in ``PROCESSORS``, all of them or those the
``FLEXMARKET_PROCESSORS`` setting names (a deployment splits them over workers that way).
"""

from __future__ import annotations

import importlib

import faust

from ledger.settings import Settings

PROCESSORS: dict[str, str] = {
    "projector": "ledger.processors.projector", "anchor": "ledger.processors.anchor",
    "scheduler": "market.processors.scheduler", "clearing": "market.processors.clearing",
    "final_clearing": "market.processors.final_clearing",
    "technical_validation": "dso.processors.validation",
    "pod_pom_association": "dso.processors.registry",
    "setpoint_relay": "dso.processors.setpoints",
    "dso_requests": "dso.processors.requests",
    "certification": "access_layer.processors.certification",
    "metering_publication": "access_layer.processors.publication",
    "settlement": "market.processors.settlement",
    "dispatch": "aggregator.processors.dispatch",
    "offer_submission": "aggregator.processors.offers",
}


def selected_processors(settings: Settings) -> list[str]:
    """The modules of the processors this worker runs.

    Raises:
        ValueError: the setting names a processor that does not exist, naming the known.
    """
    if settings.processors.strip() == "all":
        return list(PROCESSORS.values())
    names = [n.strip() for n in settings.processors.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROCESSORS]
    if unknown or not names:
        raise ValueError(f"FLEXMARKET_PROCESSORS names unknown processors {unknown}; known: "
                         f"all, {', '.join(PROCESSORS)}")
    return [PROCESSORS[n] for n in names]


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
    for module in selected_processors(settings):
        importlib.import_module(module).attach(app, settings)
    return app


def run_worker(settings: Settings) -> None:
    """Run all processors until SIGTERM/SIGINT (``flexmarket worker``)."""
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.lower().replace("warning", "warn"),
                          quiet=True)
    worker.execute_from_commandline()
