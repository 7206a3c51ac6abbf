"""The blockchain access layer on the real stack (Platone A.4, FR_BAL_TS_1): light-node
packets on Kafka become certified readings or rejections with their reason, none is
dropped, and reading the log again after a restart certifies nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from access_layer.domain.events import LightNodeEnrolled
from access_layer.domain.light_node import LightNode
from access_layer.domain.packets import encode_packet
from access_layer.ingest import send_packets
from access_layer.simulator import forged_packet
from access_layer.store.models import MeterReadingRow, RejectedPacketRow
from ledger.catalog import new_event
from ledger.kafka_log import end_offsets
from ledger.settings import Settings
from ledger.store.models import EventRow, ProjectorOffset
from ledger.topics import Topic, topic_name
from ledger.worker_process import WorkerProcess
from tests.integration.market.harness import Market, running_market
from tests.integration.projection_harness import publish

pytestmark = pytest.mark.integration
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NODE_1, NODE_2 = LightNode.from_seed("node-1"), LightNode.from_seed("node-2")
STRANGER = LightNode.from_seed("stranger")


@pytest.fixture(scope="module")
def market(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(stack, tmp_path_factory.mktemp("certification"),
                        processors="projector,certification") as running:
        publish(running.settings, [
            new_event(LightNodeEnrolled(pod_id="POD-000001", aggregator_id="AGG-1",
                                        node_address=NODE_1.address), actor="AGG-1"),
            new_event(LightNodeEnrolled(pod_id="POD-000002", aggregator_id="AGG-1",
                                        node_address=NODE_2.address), actor="AGG-1")])
        yield running


def _reading(node: LightNode, pod: str, at: datetime = AT, p_kw: float = 3.0):  # type: ignore[no-untyped-def]
    return node.reading_packet(pod, at, p_kw, 0.9, p_kw / 4, 15)


def _rejections(market: Market) -> dict[str, str]:
    with market.engine.connect() as conn:
        return {r.code: r.pod_id for r in conn.execute(select(RejectedPacketRow))}


def test_fr_bal_ts_1_packets_are_certified_or_rejected_with_the_reason(market: Market) -> None:
    """A valid reading is certified; a forged signature, an unenrolled node, another
    PoD's node, a replay and bytes that are no packet are each rejected, visibly."""
    valid = encode_packet(_reading(NODE_1, "POD-000001"))
    sent = [
        valid,
        encode_packet(forged_packet(_reading(NODE_2, "POD-000002").data, NODE_2, STRANGER)),
        encode_packet(_reading(STRANGER, "POD-000003")),  # no node enrolled for it
        encode_packet(_reading(NODE_1, "POD-000002")),  # POD-000002's node is NODE_2
        valid,  # the same packet again: a replay
        b'{"pod": "POD-000001", "hash": "0x00"}',
        encode_packet(NODE_1.acknowledge("POD-000001", "ACT-1", [(40, 2.0, 0.0)],
                                         AT, AT + timedelta(seconds=1),
                                         AT + timedelta(seconds=2))),
    ]
    send_packets(market.settings, sent)
    market.wait_until(select(func.count()).select_from(EventRow).where(
        EventRow.type.in_(["MeterReadingCertified", "MeterReadingRejected",
                           "SetpointAcknowledged"])), len(sent), "every packet answered")
    with market.engine.connect() as conn:
        readings = list(conn.execute(select(MeterReadingRow)))
        ack = conn.execute(select(EventRow).where(
            EventRow.type == "SetpointAcknowledged")).one()
    assert [(r.pod_id, r.p_kw, r.node_address) for r in readings] == [
        ("POD-000001", 3.0, NODE_1.address)]
    assert _rejections(market) == {
        "BAD_SIGNATURE": "POD-000002", "NODE_NOT_ENROLLED": "POD-000003",
        "NOT_THE_ENROLLED_NODE": "POD-000002", "ALREADY_CERTIFIED": "POD-000001",
        "MALFORMED_PACKET": "POD-000001"}
    assert ack.payload["received_by_device_at"] == "2026-12-01T10:00:02Z"


def test_reading_the_packets_again_certifies_nothing_twice(market: Market,
                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second worker reads ``packets`` from offset 0 (a new consumer group): each packet
    gives the identical event again, which the read models keep once."""
    with market.engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(EventRow))
    log_before = _readings_on_log(market.settings)
    replay = market.settings.model_copy(update={"app_id": market.settings.app_id + "-again"})
    with WorkerProcess(replay, tmp_path / "again.log") as worker:
        # Six of the seven packets answer on ``readings`` (the acknowledgement elsewhere).
        worker.wait_until(lambda: _readings_on_log(replay) >= log_before + 6,
                          what="packets answered again", timeout_s=60)
        worker.wait_until(lambda: _projected(replay, market), what="projected", timeout_s=60)
    with market.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EventRow)) == before
        assert conn.scalar(select(func.count()).select_from(MeterReadingRow)) == 1
        assert conn.scalar(select(func.count()).select_from(RejectedPacketRow)) == 5


def _readings_on_log(settings: Settings) -> int:
    return sum(end_offsets(settings, [topic_name(settings, Topic.READINGS)]).values())


def _projected(settings: Settings, market: Market) -> bool:
    ends = end_offsets(settings, [topic_name(settings, Topic.READINGS)])
    with market.engine.connect() as conn:
        done = {(r.topic, r.partition): r.offset for r in conn.execute(select(ProjectorOffset))}
    return all(done.get(k, -1) >= end - 1 for k, end in ends.items() if end)


def test_a_worker_stopped_mid_batch_loses_no_packet(stack: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Stopping the worker while it certifies leaves the batch in hand unacknowledged:
    the next worker answers every packet, none twice."""
    pods = [f"POD-{i:06d}" for i in range(1, 5)]
    with running_market(stack, tmp_path, processors="projector,certification",
                        certification_batch_size=500) as market:
        nodes = {pod: LightNode.from_seed(f"stop-{pod}") for pod in pods}
        publish(market.settings, [new_event(LightNodeEnrolled(
            pod_id=pod, aggregator_id="AGG-2" if pod == "POD-000004" else "AGG-1",
            node_address=node.address), actor="AGG-1") for pod, node in nodes.items()])
        packets = [encode_packet(_reading(nodes[pod], pod, AT + timedelta(minutes=15 * q)))
                   for q in range(1500) for pod in pods]
        send_packets(market.settings, packets)
        answered = select(func.count()).select_from(EventRow).where(
            EventRow.type == "MeterReadingCertified")

        def some() -> bool:
            with market.engine.connect() as conn:
                return (conn.scalar(answered) or 0) >= 500

        market.worker.wait_until(some, what="the first readings", timeout_s=120)
    # The harness stopped that worker; another with the same group takes over.
    with WorkerProcess(market.settings, tmp_path / "again.log") as worker:
        market.worker = worker
        market.wait_until(answered, len(packets), "every packet answered", timeout_s=240)
    with market.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(MeterReadingRow)) == len(packets)
        assert conn.scalar(select(func.count()).select_from(RejectedPacketRow)) == 0
