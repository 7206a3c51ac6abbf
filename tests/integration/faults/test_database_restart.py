"""A PostgreSQL of the test's own restarted while the projector writes into it (issue 7's
fault suite)."""

from __future__ import annotations

import time
from pathlib import Path

from ledger.settings import Settings
from tests.integration.faults.harness import (
    FAULT_TEST,
    Supervisor,
    assert_each_event_projected_once,
    assert_equals_fresh_replay,
    fault_settings,
    own_postgres,
    projected_to_log_end,
    read_model,
)
from tests.integration.projection_harness import count_events, publish, registry_log

pytestmark = FAULT_TEST


def test_a_postgres_restart_while_the_projector_writes(stack: Settings, tmp_path: Path) -> None:
    """PostgreSQL stops (fast shutdown: open transactions are cut) while the projector
    writes a backlog in batches of 100, stays down two seconds while more events arrive,
    and starts again. Every event is then projected exactly once, and the PostgreSQL read
    models equal a fresh replay into SQLite.

    Observed: the worker does not exit; its write fails, retries with back-off
    (``until_done``) and succeeds once the server is back, the batch in hand written in
    one transaction as before.
    """
    with own_postgres(stack, tmp_path) as cluster:
        settings = fault_settings(stack, tmp_path, database_url=cluster.settings.postgres_url,
                                  processors="projector", projector_batch_size=100,
                                  projector_batch_seconds=0.05)
        before, during = registry_log(6_000, 1_500, 500), registry_log(1_000, 0, 0)
        engine = read_model(settings.read_model_url)
        publish(settings, before)
        with Supervisor(settings, tmp_path) as workers:
            workers.wait_until(lambda: count_events(engine) >= 1_500,
                               what="projection under way", timeout_s=60, poll_s=0.05)
            cluster.stop()
            publish(settings, during)
            time.sleep(2)
            cluster.start()
            assert count_events(engine) < len(before), "the restart came after the backlog"

            workers.wait_until(lambda: projected_to_log_end(settings, engine),
                               what="every event projected", timeout_s=90)
            assert workers.exits == []
            assert "step failed; retrying" in workers.logs(), "the outage went unnoticed"

        assert assert_each_event_projected_once(settings, engine) == len(before) + len(during)
        assert_equals_fresh_replay(settings, engine, tmp_path)
        engine.dispose()
