"""A Kafka broker of the test's own restarted while events are produced and processed
(issue 7's fault suite)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kafka.errors import KafkaError

from ledger.envelope import Event
from ledger.producer import EventProducer
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
    log_event_ids,
    own_kafka,
    read_model,
)
from tests.integration.projection_harness import count_events, registry_log

pytestmark = FAULT_TEST

# 32 chunks a quarter of a second apart: production lasts about 8 s, and the restart
# lands in the middle of it.
CHUNK, PAUSE_S = 250, 0.25


class Publisher(threading.Thread):
    """Publishes events in chunks, as a source that keeps producing would: a chunk the
    broker did not acknowledge is sent again (by a new producer) until it is, so a chunk
    may stand on the log twice, and is never missing. Gives up after ``timeout_s``."""

    def __init__(self, settings: Settings, events: list[Event], timeout_s: float) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.events = events
        self.deadline = time.monotonic() + timeout_s
        self.sent = 0  # events acknowledged
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            for start in range(0, len(self.events), CHUNK):
                self._send(self.events[start:start + CHUNK])
                time.sleep(PAUSE_S)
        except Exception as exc:  # handed to the test, which fails on it
            self.error = exc

    def _send(self, chunk: list[Event]) -> None:
        while True:
            try:
                with EventProducer(self.settings) as producer:
                    producer.publish_all(chunk)
                self.sent += len(chunk)
                return
            except KafkaError:
                if time.monotonic() > self.deadline:
                    raise
                time.sleep(0.5)


def test_a_broker_restart_under_load(stack: Settings, tmp_path: Path) -> None:
    """The broker restarts (SIGTERM, then started again on its data) while a publisher
    sends 8,000 events in chunks and a worker projects and anchors them. Afterwards no
    event is lost: every published event is on the log and projected exactly once; the
    chain covers every partition from 0 to its end without gap or overlap, each batch
    projected once; and the read models equal a fresh replay.

    Observed: the worker does not exit. Its Kafka clients log the broker as unreachable
    for the few seconds it is down, then reconnect, and the worker goes on consuming and
    producing. The publisher's producer holds the chunk in flight and delivers it once the
    broker is back (a chunk that failed would be sent again, see ``Publisher``).
    """
    with own_kafka(stack, tmp_path) as broker:
        settings = anchoring_settings(stack, tmp_path, kafka_bootstrap=f"{broker.host}:"
                                      f"{broker.port}", anchor_batch_size=100,
                                      projector_batch_size=200)
        events = registry_log(6_000, 1_500, 500)
        engine = read_model(settings.read_model_url)
        with running_chain(settings):
            with Supervisor(settings, tmp_path) as workers:
                publisher = Publisher(settings, events, timeout_s=120)
                publisher.start()
                workers.wait_until(lambda: count_events(engine) >= 1_000
                                   and anchored_events(settings) > 0,
                                   what="projection and anchoring under way", timeout_s=60,
                                   poll_s=0.05)
                broker.stop()
                stopped_with, projected_at_stop = publisher.sent, count_events(engine)
                broker.start()
                assert stopped_with < len(events), "the restart came after the last chunk"
                assert projected_at_stop < len(events), "the restart came after the work"

                publisher.join(timeout=150)
                assert not publisher.is_alive() and publisher.error is None, publisher.error
                workers.wait_until(lambda: anchored_and_projected(settings, engine),
                                   what="everything anchored and projected", timeout_s=120)
                assert workers.exits == []

            lost = {str(e.event_id) for e in events} - log_event_ids(settings)
            assert not lost, f"{len(lost)} published events are not on the log"
            assert_anchored_and_projected_once(settings, engine, tmp_path, len(events))
