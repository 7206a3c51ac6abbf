"""Anchoring against real services: an anvil of its own, isolated topics, waiting for roots."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.stack.node_tools import Anvil
from ledger.anchoring import AnchoredBatch, Stream
from ledger.chain import AnchorLedger, deploy
from ledger.kafka_log import end_offsets
from ledger.settings import Settings
from ledger.store.migrate import upgrade
from ledger.topics import ANCHORED_TOPICS, ensure_topics, topic_name
from ledger.worker_process import (
    WorkerProcess,
    WorkerWaitFailed,
    api_answers,
    free_port,
    settings_env,
)
from tests.integration.projection_harness import isolated


def anchoring_settings(stack: Settings, tmp: Path, **overrides: object) -> Settings:
    """Own topics, group, SQLite read models, var/ and anvil port; contracts deployed."""
    settings = isolated(stack, var_dir=tmp / "var", anvil_port=free_port(),
                        database_url=f"sqlite:///{tmp / 'read_models.db'}",
                        anchor_batch_seconds=0.3, api_port=free_port(), **overrides)
    settings = settings.model_copy(update={"chain_url": f"http://127.0.0.1:{settings.anvil_port}"})
    ensure_topics(settings)
    upgrade(settings.read_model_url)
    return settings


def start_chain(settings: Settings) -> Anvil:
    """Start the settings' anvil and deploy the contracts to it."""
    node = Anvil(settings)
    node.start()
    deploy(settings)
    return node


@contextmanager
def running_chain(settings: Settings) -> Iterator[Anvil]:
    """The settings' anvil with the contracts deployed, stopped afterwards."""
    node = start_chain(settings)
    try:
        yield node
    finally:
        node.stop()


def log_ends(settings: Settings) -> dict[Stream, int]:
    ends = end_offsets(settings, [topic_name(settings, t) for t in ANCHORED_TOPICS])
    return {Stream(t, p): end for (t, p), end in ends.items()}


def anchored_events(settings: Settings) -> int:
    """Events the chain covers in every anchored partition (the sum of next offsets)."""
    ledger = AnchorLedger.open(settings)
    return sum(ledger.next_offset(s) for s in log_ends(settings))


def wait_until_anchored(settings: Settings, worker: WorkerProcess, timeout_s: float) -> None:
    """Wait until the chain's position equals the log's end in every partition."""
    ledger = AnchorLedger.open(settings)
    worker.wait_until(
        lambda: all(ledger.next_offset(s) == end for s, end in log_ends(settings).items()),
        what="every partition anchored to the log's end", timeout_s=timeout_s, poll_s=0.3)


def chain_batches(settings: Settings) -> dict[Stream, list[AnchoredBatch]]:
    by_stream: dict[Stream, list[AnchoredBatch]] = defaultdict(list)
    for anchored in AnchorLedger.open(settings).anchored():
        by_stream[anchored.batch.stream].append(anchored)
    return by_stream


def assert_contiguous_cover(settings: Settings) -> int:
    """Every partition's batches run from 0 to the log's end without gap or overlap.

    Returns the number of batches.
    """
    batches = chain_batches(settings)
    total = 0
    for stream, end in log_ends(settings).items():
        ranges = [(a.batch.first_offset, a.batch.last_offset, a.batch.count)
                  for a in batches.get(stream, [])]
        expected_first = 0
        for first, last, count in ranges:
            assert first == expected_first, f"{stream}: batch starts at {first}, not " \
                                            f"{expected_first}: {ranges}"
            assert count == last - first + 1, f"{stream}: holes in {first}..{last}"
            expected_first = last + 1
        assert expected_first == end, f"{stream}: anchored to {expected_first}, log ends {end}"
        total += len(ranges)
    return total


class ApiServer(WorkerProcess):
    """``flexmarket serve`` in a child process on the settings' port, ready when entered."""

    def __init__(self, settings: Settings, log_file: Path) -> None:
        super().__init__(settings, log_file, command=("serve",))

    def __enter__(self) -> ApiServer:
        self.start()
        try:
            self.wait_until(lambda: api_answers(self.settings), what="the API", timeout_s=30)
        except WorkerWaitFailed as exc:
            self.stop()
            raise AssertionError(f"API did not start: {exc}") from None
        return self


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flexmarket ARGS`` as a separate process seeing ``settings``."""
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], capture_output=True,
                          text=True, env=settings_env(settings), timeout=300, check=False)
