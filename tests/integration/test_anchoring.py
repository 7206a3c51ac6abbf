"""End to end on a real anvil: events anchor in contiguous Merkle batches, proofs verify
against the chain, tampering shows up, and crashes and chain outages leave no gap."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, update

from deploy.stack.node_tools import Anvil
from ledger.audit.scan import scan
from ledger.auth.roles import Role
from ledger.auth.store import register_participant
from ledger.chain import deploy
from ledger.envelope import Event, seal
from ledger.settings import Settings
from ledger.store.models import AnchorBatchRow, EventRow, PodRow
from ledger.worker_process import WorkerProcess
from tests.auth import token
from tests.integration.anchoring_harness import (
    ApiServer,
    anchored_events,
    anchoring_settings,
    assert_contiguous_cover,
    chain_batches,
    cli,
    running_chain,
    wait_until_anchored,
)
from tests.integration.projection_harness import publish, registry_log, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
# The auditor the CLI (FLEXMARKET_API_TOKEN) and the calls below read proofs as.
AUDITOR_TOKEN = token("AUDITOR-1", "auditor", ttl=timedelta(hours=2))
AUDITOR = {"Authorization": f"Bearer {AUDITOR_TOKEN}"}


@dataclass
class World:
    settings: Settings
    events: list[Event]
    worker: WorkerProcess
    api: ApiServer
    tmp: Path


@pytest.fixture(scope="module")
def world(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """200 registry events projected and anchored on anvil, with the worker and API up."""
    tmp = tmp_path_factory.mktemp("anchoring")
    settings = anchoring_settings(stack, tmp, anchor_batch_size=64,
                                  api_token=AUDITOR_TOKEN)
    events = registry_log(160, 30, 10)
    engine = create_engine(settings.read_model_url)
    with running_chain(settings), \
            WorkerProcess(settings, tmp / "worker.log") as worker, \
            ApiServer(settings, tmp / "api.log") as api:
        publish(settings, events)
        wait_until_anchored(settings, worker, 120)
        batches = sum(len(b) for b in chain_batches(settings).values())

        def projected() -> bool:
            with engine.connect() as conn:
                rows = conn.execute(select(AnchorBatchRow)).all()
                events_rows = conn.execute(select(EventRow.event_id)).all()
            return len(rows) == batches and len(events_rows) >= len(events)

        wait_for(projected, worker, 60, "events and anchor batches projected")
        yield World(settings, events, worker, api, tmp)
    engine.dispose()


def test_fr_mp_bc_1_every_event_is_in_a_contiguous_anchored_batch(world: World) -> None:
    batches = assert_contiguous_cover(world.settings)
    # 200 events over 4 registry partitions in batches of at most 64: several per partition.
    assert batches >= 4
    page = httpx.get(f"{world.settings.api_base_url}/audit/batches",
                     params={"limit": 1000}, headers=AUDITOR).json()
    assert page["count"] == batches
    anchored = chain_batches(world.settings)
    on_chain = {(a.batch.stream.topic, a.batch.stream.partition, a.batch.first_offset,
                 "0x" + a.batch.root.hex(), a.tx_hash)
                for batches_ in anchored.values() for a in batches_}
    served = {(b["topic"], b["partition"], b["first_offset"], b["root"], b["tx_hash"])
              for b in page["items"]}
    assert served == on_chain


def test_fr_mp_bc_2_audit_verify_passes_for_a_real_event(world: World) -> None:
    event_id = str(world.events[17].event_id)
    done = cli(world.settings, "audit", "verify", event_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"event {event_id}: VERIFIED" in done.stdout
    assert "FAIL" not in done.stdout
    status = cli(world.settings, "chain", "status", "--json")
    partitions = json.loads(status.stdout)["partitions"]
    assert sum(p["anchored_to"] for p in partitions) == len(world.events)
    assert all(p["lag"] == 0 for p in partitions)


def test_fr_mp_bc_2_audit_verify_fails_for_a_modified_payload(world: World) -> None:
    event_id = str(world.events[18].event_id)
    proof = httpx.get(f"{world.settings.api_base_url}/audit/events/{event_id}/proof",
                      headers=AUDITOR).json()
    proof["event"]["payload"]["customer_id"] = "SOMEONE-ELSE"
    forged = world.tmp / "forged-proof.json"
    forged.write_text(json.dumps(proof))

    done = cli(world.settings, "audit", "verify", event_id, "--proof", str(forged))

    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT VERIFIED" in done.stdout
    assert "hash does not match" in done.stdout


def test_fr_mp_bc_2_proof_of_unknown_event_is_a_clear_404(world: World) -> None:
    base = world.settings.api_base_url
    missing = httpx.get(f"{base}/audit/events/01972fb5-4c1b-7000-8000-00000000ffff/proof",
                        headers=AUDITOR)
    assert missing.status_code == 404
    assert missing.json()["code"] == "EVENT_NOT_FOUND"
    malformed = httpx.get(f"{base}/audit/events/not-a-uuid/proof", headers=AUDITOR)
    assert malformed.status_code == 422
    assert malformed.json() == {"code": "INVALID_EVENT_ID", "field": "event_id",
                                "message": "'not-a-uuid' is not a UUID"}
    bad_limit = httpx.get(f"{base}/audit/batches", params={"limit": 0}, headers=AUDITOR)
    assert bad_limit.status_code == 422
    assert bad_limit.json()["field"] == "limit"


def test_tampering_in_sql_and_a_forged_event_show_up_in_audit_scan(world: World) -> None:
    engine = create_engine(world.settings.read_model_url)
    with engine.begin() as conn:
        # Credentials are no projection of the log: the scan must not call them altered.
        register_participant(conn, "AUDITOR-1", Role.AUDITOR, now=datetime.now(UTC))
    clean = scan(world.settings)
    assert clean.tampered == [], clean.render()

    victim = world.events[100]  # a PodRegistered whose PoD no later event changes
    pod_id = victim.payload["pod_id"]
    with engine.begin() as conn:
        conn.execute(update(PodRow).where(PodRow.pod_id == pod_id).values(up_p_kw=999.0))
    engine.dispose()
    forged = seal(type=victim.type, version=victim.version, actor=victim.actor, key=victim.key,
                  payload={**victim.payload, "customer_id": "CUST-FORGED"},
                  occurred_at=victim.occurred_at, event_id=victim.event_id)
    publish(world.settings, [forged])
    wait_until_anchored(world.settings, world.worker, 60)

    report = scan(world.settings)

    kinds = {(f.kind, f.source) for f in report.tampered}
    assert ("altered", "sql") in kinds, report.render()
    assert any(f.kind == "altered" and f"pod_id={pod_id}" in f.detail and "999.0" in f.detail
               for f in report.tampered), report.render()
    forged_findings = [f for f in report.tampered if f.kind == "forged"]
    assert [f.event_id for f in forged_findings] == [str(victim.event_id)], report.render()
    assert forged_findings[0].source == "kafka"

    done = cli(world.settings, "audit", "scan")
    assert done.returncode == 1
    assert "RESULT: 2 altered or forged" in done.stdout, done.stdout


def test_killing_the_anchor_processor_mid_batch_leaves_no_gap(
        stack: Settings, tmp_path: Path) -> None:
    # Batches close after 2 s unless a partition fills 50: a chunk of 100 events over four
    # partitions is read at once but waits, and the kill lands while it waits.
    settings = anchoring_settings(stack, tmp_path, anchor_batch_size=50)
    settings = settings.model_copy(update={"anchor_batch_seconds": 2.0})
    with running_chain(settings):
        first, held, after = (registry_log(400, 0, 0), registry_log(100, 0, 0),
                              registry_log(500, 0, 0))
        publish(settings, first)
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        wait_for(lambda: anchored_events(settings) == len(first), worker, 120, "first events")
        publish(settings, held)
        time.sleep(0.5)
        worker.kill()
        assert anchored_events(settings) == len(first), "the held chunk was anchored already"
        publish(settings, after)
        with WorkerProcess(settings, tmp_path / "worker-2.log") as restarted:
            wait_until_anchored(settings, restarted, 180)
        assert_contiguous_cover(settings)
        assert anchored_events(settings) == len(first) + len(held) + len(after)


def test_a_chain_outage_delays_anchoring_without_a_gap(
        stack: Settings, tmp_path: Path) -> None:
    settings = anchoring_settings(stack, tmp_path, anchor_batch_size=100)
    with running_chain(settings) as node:
        publish(settings, registry_log(200, 0, 0))
        with WorkerProcess(settings, tmp_path / "worker.log") as worker:
            wait_until_anchored(settings, worker, 120)
            node.stop()
            publish(settings, registry_log(200, 0, 0))
            deadline = time.monotonic() + 60
            while "anchoring failed; retrying" not in worker.log_file.read_text():
                assert worker.alive() and time.monotonic() < deadline, "no retry was logged"
                time.sleep(0.5)
            assert "lag_events=" in worker.log_file.read_text()
            Anvil(settings).start()
            wait_until_anchored(settings, worker, 120)
        assert_contiguous_cover(settings)
        # Contiguous from offset 0: the chain kept the first 200 across its restart.
        assert anchored_events(settings) == 400


def test_a_new_chain_is_anchored_from_offset_0_after_a_rewind(
        stack: Settings, tmp_path: Path) -> None:
    """Resuming from what the chain says, when the chain lost its history: a worker starting
    against it rewinds the group and anchors from offset 0; a worker running when it happens
    refuses to leave a gap and exits, and its replacement does the same."""
    settings = anchoring_settings(stack, tmp_path, anchor_batch_size=100)

    def lose_the_chain(node: Anvil) -> None:
        node.stop()
        node.state_file.unlink()
        node.start()
        deploy(settings)
        assert anchored_events(settings) == 0

    with running_chain(settings) as node:
        publish(settings, registry_log(200, 0, 0))
        with WorkerProcess(settings, tmp_path / "worker-1.log") as first:
            wait_until_anchored(settings, first, 120)
        lose_the_chain(node)
        publish(settings, registry_log(40, 0, 0))
        second = WorkerProcess(settings, tmp_path / "worker-2.log").start()
        wait_until_anchored(settings, second, 120)
        assert "rewound the consumer group" in second.log_file.read_text()
        assert_contiguous_cover(settings)
        assert anchored_events(settings) == 240

        lose_the_chain(node)
        publish(settings, registry_log(40, 0, 0))
        deadline = time.monotonic() + 90
        while second.alive():
            assert time.monotonic() < deadline, "the processor anchored past a gap"
            time.sleep(0.5)
        assert second.proc is not None and second.proc.returncode == 75
        assert "consumer group is ahead of the chain" in second.log_file.read_text()
        with WorkerProcess(settings, tmp_path / "worker-3.log") as third:
            wait_until_anchored(settings, third, 120)
        assert_contiguous_cover(settings)
        assert anchored_events(settings) == 280
        rewound = cli(settings, "chain", "rewind")  # nothing left for the manual command
        assert rewound.returncode == 0, rewound.stderr
        assert "0 partition(s) rewound" in rewound.stdout
