"""anvil stopped while the anchor works through a backlog, and started again from its
state file (issue 7's fault suite)."""

from __future__ import annotations

from pathlib import Path

from ledger.settings import Settings
from tests.integration.anchoring_harness import (
    anchored_events,
    anchoring_settings,
    running_chain,
)
from tests.integration.faults.harness import (
    FAULT_TEST,
    Supervisor,
    anchored_and_projected,
    assert_anchored_and_projected_once,
    projected_to_log_end,
    read_model,
    stop_chain,
)
from tests.integration.projection_harness import publish, registry_log

pytestmark = FAULT_TEST


def test_the_chain_stopped_mid_anchoring_and_restarted(stack: Settings, tmp_path: Path) -> None:
    """anvil stops (SIGTERM: it writes its state file) with part of a backlog anchored,
    and more events arrive while it is down. The read models keep up meanwhile; once the
    chain is back, with every batch it had, every event is anchored: each partition from
    offset 0 to its end without gap or overlap, each batch projected once, and the read
    models equal a fresh replay.

    Observed: the worker does not exit; its anchoring fails and retries with back-off
    (``Anchorer.run``), holding its records unacknowledged, until the chain answers.
    """
    # Two batches of 50 a transaction: the backlog takes many transactions to anchor.
    settings = anchoring_settings(stack, tmp_path, anchor_batch_size=50,
                                  anchor_batches_per_transaction=2)
    before, during = registry_log(3_000, 0, 0), registry_log(1_000, 0, 0)
    engine = read_model(settings.read_model_url)
    with running_chain(settings) as node:
        with Supervisor(settings, tmp_path) as workers:
            publish(settings, before)
            workers.wait_until(lambda: anchored_events(settings) >= 200,
                               what="anchoring under way", timeout_s=60, poll_s=0.05)
            stop_chain(node)
            publish(settings, during)
            # The log's end includes ``during``: published, and acknowledged, before this.
            workers.wait_until(lambda: "anchoring failed; retrying" in workers.logs()
                               and projected_to_log_end(settings, engine),
                               what="the outage felt, and every event projected meanwhile",
                               timeout_s=60)
            node.start()
            anchored_at_restart = anchored_events(settings)
            assert 200 <= anchored_at_restart < len(before), \
                "the chain lost batches, or the stop came after the backlog was anchored"

            workers.wait_until(lambda: anchored_and_projected(settings, engine),
                               what="everything anchored and projected", timeout_s=90)
            assert workers.exits == []

        published = len(before) + len(during)
        assert anchored_events(settings) == published
        assert_anchored_and_projected_once(settings, engine, tmp_path, published)
