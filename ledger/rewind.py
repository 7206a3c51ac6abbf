"""Moving the workers' committed offsets back to the chain's position (at worker start,
and by ``flexmarket chain rewind``).

The anchor processor keeps its records unacknowledged until they are anchored, so the
group's offsets trail the chain on their own. Only a chain that lost history (a new
deployment, a node restarted without its state) leaves them ahead; then this rewinds them,
and the projector's replay of the rewound records changes nothing (it keeps one row per
event id).
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata

from ledger.anchoring import Stream
from ledger.chain import AnchorLedger
from ledger.settings import Settings
from ledger.topics import ANCHORED_TOPICS, topic_name

GROUP_EMPTY_TIMEOUT_S = 60  # a killed worker stays in the group until its session expires


def rewind_to_chain(settings: Settings) -> dict[tuple[str, int], tuple[int, int]]:
    """Commit the chain's next offset wherever the group's committed offset is past it.

    Returns:
        ``{(topic, partition): (committed before, committed now)}`` for each rewound one.

    Raises:
        ledger.chain.ChainError: the chain cannot be read.
        TimeoutError: a worker still holds the group after ``GROUP_EMPTY_TIMEOUT_S``.
    """
    ledger = AnchorLedger.open(settings)
    names = {topic_name(settings, t) for t in ANCHORED_TOPICS}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                             client_id=f"{settings.app_id}-rewind")
    try:
        committed = admin.list_group_offsets(settings.app_id).get(settings.app_id, {})
        moves = {}
        for tp, meta in committed.items():
            if tp.topic not in names:
                continue
            position = ledger.next_offset(Stream(tp.topic, tp.partition))
            if meta.offset > position:
                moves[tp] = (meta.offset, position)
        if moves:
            _alter(admin, settings.app_id, {tp: after for tp, (_, after) in moves.items()})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): move for tp, move in moves.items()}


def _alter(admin: KafkaAdminClient, group: str, offsets: dict[TopicPartition, int]) -> None:
    deadline = time.monotonic() + GROUP_EMPTY_TIMEOUT_S
    while True:
        errors = admin.alter_group_offsets(
            group, {tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        failed = {tp: e for tp, e in errors.items() if e is not NoError}
        if not failed:
            return
        if time.monotonic() > deadline:  # a member still holds the group
            raise TimeoutError(f"consumer group {group} still has members ({failed}); "
                               "stop the worker first")
        time.sleep(1)
