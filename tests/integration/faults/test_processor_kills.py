"""SIGKILL of stream processors while they work through a backlog (issue 7's fault suite).

A killed worker gets no shutdown and makes no final commit; a new worker on the same
settings (the same consumer group) resumes from the offsets the group had committed. What
it reads again was done already, and must change nothing: every event is projected once,
anchored ranges stay contiguous, every light-node packet is answered once, and the read
models equal a fresh replay of the log.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from access_layer.domain.events import LightNodeEnrolled
from access_layer.domain.packets import parse_packet
from access_layer.ingest import send_packets
from access_layer.simulator import SimulatedNode, node_for, simulate_day
from access_layer.store.models import MeterReadingRow, RejectedPacketRow
from ledger.catalog import new_event
from ledger.settings import Settings
from ledger.store.models import EventRow
from ledger.topics import ANCHORED_TOPICS, PROJECTED_TOPICS, Topic
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
    assert_each_event_projected_once,
    assert_equals_fresh_replay,
    committed,
    fault_settings,
    projected_to_log_end,
    read_model,
    records_on,
)
from tests.integration.projection_harness import count_events, publish, registry_log

pytestmark = FAULT_TEST

# The projector logs each batch it wrote, and how many of its events were there already.
_PROJECTED_BATCH = re.compile(r"event='projected batch' events=\d+ duplicates=(\d+)")
# The certification test's simulated light nodes and their day.
PODS = 24
DAY = date(2026, 11, 30)


def test_sigkill_of_the_projector_and_anchor_mid_stream(stack: Settings,
                                                        tmp_path: Path) -> None:
    """A worker running the projector and the anchor is killed with a backlog of 6,000
    events part done (2,000 before them done and committed); its replacement projects
    every event exactly once, anchors every partition from offset 0 to its end without
    gap or overlap, projects every batch once, and leaves read models equal to a fresh
    replay.

    It resumes from the committed offsets, not from 0: what it finds projected already is
    at most what lay past the group's commits at the kill (the anchor's announcements
    repeated for records it read again aside).
    """
    # One batch of 50 a transaction keeps anchoring slow enough to be killed in.
    settings = anchoring_settings(stack, tmp_path, anchor_batch_size=50,
                                  anchor_batches_per_transaction=1, projector_batch_size=100,
                                  projector_batch_seconds=0.05, log_level="INFO")
    events = registry_log(6_500, 1_200, 300)
    first = 2_000
    engine = read_model(settings.read_model_url)
    with running_chain(settings):
        # The first events are done and committed before the rest arrives, so the kill
        # lands in the rest with commits behind it (Faust commits every 2.8 s).
        publish(settings, events[:first])
        with Supervisor(settings, tmp_path) as workers:
            workers.wait_until(lambda: committed(settings, ANCHORED_TOPICS) == first,
                               what="the first events anchored and committed", timeout_s=90)
            publish(settings, events[first:])
            workers.wait_until(
                lambda: count_events(engine) >= first + 500
                and anchored_events(settings) >= first + 200,
                what="the rest under way", timeout_s=60, poll_s=0.05)
            workers.kill()
            projected_at_kill, anchored_at_kill = count_events(engine), anchored_events(settings)
            committed_at_kill = committed(settings, PROJECTED_TOPICS)
            assert projected_at_kill < len(events), "the kill came after the projector's work"
            assert anchored_at_kill < len(events), "the kill came after the anchor's work"

            workers.start()
            workers.wait_until(lambda: anchored_and_projected(settings, engine),
                               what="everything anchored and projected", timeout_s=120)
            assert workers.exits == [], "the restarted worker exited by itself"
            read_again = sum(int(n) for n in _PROJECTED_BATCH.findall(
                workers.worker.log_file.read_text()))

        batches = assert_anchored_and_projected_once(settings, engine, tmp_path, len(events))
        repeated_announcements = records_on(settings, [Topic.ANCHORS]) - batches
        assert read_again <= projected_at_kill - committed_at_kill + repeated_announcements


def test_sigkill_of_certification_mid_stream_answers_every_packet_once(
        stack: Settings, tmp_path: Path) -> None:
    """A worker certifying a simulated day of signed readings (24 PoDs × 96 quarter-hours)
    is killed in the middle of its second third; its replacement answers every packet,
    each with exactly one certified reading, rejects none, and the read models equal a
    fresh replay.

    It resumes from the committed offsets: the answers it publishes again (the identical
    events, kept once by the projector) are at most those of packets past the group's
    commits at the kill.
    """
    settings = fault_settings(stack, tmp_path, processors="projector,certification",
                              certification_batch_size=50, projector_batch_seconds=0.05)
    engine = read_model(settings.read_model_url)
    nodes = [SimulatedNode(f"POD-{i:06d}", node_for(f"POD-{i:06d}", "faults"))
             for i in range(PODS)]
    publish(settings, [new_event(LightNodeEnrolled(
        pod_id=n.pod_id, aggregator_id="AGG-1", node_address=n.node.address), actor="AGG-1")
        for n in nodes])
    packets = list(simulate_day(nodes, DAY, ZoneInfo(settings.time_zone), seed=7))
    answers = select(func.count()).select_from(EventRow).where(
        EventRow.type == "MeterReadingCertified")

    def answered() -> int:
        with engine.connect() as conn:
            return conn.scalar(answers) or 0

    # The first third is answered and committed before the second arrives, so the kill
    # lands in the second with commits behind it (Faust commits every 2.8 s). It is timed
    # on the answers on the log, not on the read models, which lag them; and the last
    # third arrives only after the kill, so a fast machine cannot finish the day first.
    third = len(packets) // 3
    send_packets(settings, packets[:third])
    with Supervisor(settings, tmp_path) as workers:
        workers.wait_until(lambda: committed(settings, [Topic.PACKETS]) == third,
                           what="the first third answered and committed", timeout_s=90)
        send_packets(settings, packets[third:2 * third])
        workers.wait_until(lambda: records_on(settings, [Topic.READINGS]) >= third + 100,
                           what="the second third under way", timeout_s=60, poll_s=0.02)
        workers.kill()
        answers_at_kill = records_on(settings, [Topic.READINGS])
        committed_at_kill = committed(settings, [Topic.PACKETS])
        assert answers_at_kill < len(packets), "the kill came after the work"

        send_packets(settings, packets[2 * third:])
        workers.start()
        workers.wait_until(lambda: answered() == len(packets)
                           and projected_to_log_end(settings, engine),
                           what="every packet answered", timeout_s=150)
        assert workers.exits == [], "the restarted worker exited by itself"

    with engine.connect() as conn:
        certified = list(conn.execute(select(EventRow.payload).where(
            EventRow.type == "MeterReadingCertified")).scalars())
        assert conn.scalar(select(func.count()).select_from(MeterReadingRow)) == len(packets)
        assert conn.scalar(select(func.count()).select_from(RejectedPacketRow)) == 0
    assert sorted(c["packet_hash"] for c in certified) == sorted(
        parse_packet(p).hash for p in packets), "a packet answered twice, or never"
    answered_again = records_on(settings, [Topic.READINGS]) - len(packets)
    assert answered_again <= answers_at_kill - committed_at_kill
    assert assert_each_event_projected_once(settings, engine) == len(nodes) + len(packets)
    assert_equals_fresh_replay(settings, engine, tmp_path)

