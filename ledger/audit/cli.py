"""``flexmarket chain …`` and ``flexmarket audit …``: deploying, lag, and the auditor's checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ledger.settings import get_settings


@click.group()
def chain() -> None:
    """The contracts on the chain (FLEXMARKET_CHAIN_URL) and how far anchoring has got."""


@chain.command("deploy")
def chain_deploy() -> None:
    """Deploy FlexToken, EventAnchor and SettlementRegistry; record their addresses."""
    from ledger.chain import ChainError, deploy

    settings = get_settings()
    try:
        deployment = deploy(settings)
    except ChainError as exc:
        raise click.ClickException(f"{exc} (is the stack up? `flexmarket stack up`)") from None
    for name, address in sorted(deployment.addresses.items()):
        click.echo(f"{name:<20} {address}")
    click.echo(f"chain {deployment.chain_id} at {settings.chain_endpoint}, "
               f"block {deployment.block_number}; addresses in {settings.deployment_file}")


@chain.command("status")
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of a table")
def chain_status(as_json: bool) -> None:
    """Per partition: events on Kafka, events anchored, and the lag between them."""
    from ledger.anchoring import Stream
    from ledger.chain import AnchorLedger, ChainError
    from ledger.kafka_log import end_offsets
    from ledger.topics import ANCHORED_TOPICS, topic_name

    settings = get_settings()
    try:
        ledger = AnchorLedger.open(settings)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    ends = end_offsets(settings, [topic_name(settings, t) for t in ANCHORED_TOPICS])
    rows = []
    for (topic, partition), end in sorted(ends.items()):
        anchored = ledger.next_offset(Stream(topic, partition))
        rows.append({"topic": topic, "partition": partition, "log_end": end,
                     "anchored_to": anchored, "lag": end - anchored})
    if as_json:
        click.echo(json.dumps({"contract": ledger.address, "partitions": rows}))
        return
    click.echo(f"EventAnchor {ledger.address} on chain {ledger.deployment.chain_id}")
    click.echo(f"{'partition':<32} {'log end':>9} {'anchored':>9} {'lag':>7}")
    for r in rows:
        click.echo(f"{r['topic'] + '/' + str(r['partition']):<32} {r['log_end']:>9} "
                   f"{r['anchored_to']:>9} {r['lag']:>7}")


@chain.command("rewind")
def chain_rewind() -> None:
    """Move the workers' committed offsets back to the chain's position (worker stopped).

    Needed only when the chain is behind the log's consumers, e.g. after deploying to a
    new chain: the anchor processor then refuses to go on, since it would leave a gap.
    """
    from ledger.rewind import rewind_to_chain

    moved = rewind_to_chain(get_settings())
    for (topic, partition), (before, after) in sorted(moved.items()):
        click.echo(f"{topic}/{partition}: {before} -> {after}")
    click.echo(f"{len(moved)} partition(s) rewound")


@click.group()
def audit() -> None:
    """Check events against the chain, trusting neither the API nor the database."""


@audit.command("verify")
@click.argument("event_id")
@click.option("--api", "api_url", default=None, help="API to ask for the proof "
              "[default: FLEXMARKET_API_URL]")
@click.option("--proof", "proof_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="check this proof file instead of asking the API")
@click.option("--chain", "chain_url", default=None, help="JSON-RPC URL of the chain "
              "[default: FLEXMARKET_CHAIN_URL]")
@click.option("--contract", "anchor_address", default=None, help="the EventAnchor you trust "
              "[default: the one in the deployment file]")
@click.option("--token", default=None, help="bearer token for the API "
              "[default: FLEXMARKET_API_TOKEN]")
def audit_verify(event_id: str, api_url: str | None, proof_file: Path | None,
                 chain_url: str | None, anchor_address: str | None,
                 token: str | None) -> None:
    """Prove EVENT_ID was anchored: recompute its hash, leaf and root, and ask the chain."""
    import httpx
    from pydantic import ValidationError

    from ledger.audit.proof import EventProof
    from ledger.audit.verify import fetch_proof, verify
    from ledger.chain import ChainError, connect, load_deployment

    settings = get_settings()
    chain_url = chain_url or settings.chain_endpoint
    try:
        if proof_file is not None:
            proof = EventProof.model_validate_json(proof_file.read_bytes())
        else:
            proof = fetch_proof(api_url or settings.api_base_url, event_id,
                                token or settings.api_token)
        if anchor_address is None:
            anchor_address = load_deployment(settings, connect(chain_url)).addresses[
                "EventAnchor"]
            click.echo(f"note  EventAnchor {anchor_address} is the operator's (from "
                       f"{settings.deployment_file}); pin your own with --contract", err=True)
    except (LookupError, httpx.HTTPError, ValidationError, ChainError) as exc:
        raise click.ClickException(str(exc)) from None
    if proof.event.get("event_id") != event_id:
        raise click.ClickException(f"the proof is for event {proof.event.get('event_id')}, "
                                   f"not {event_id}")
    verdict = verify(proof, chain_url, anchor_address)
    for step in verdict.steps:
        click.echo(step)
    click.echo(f"event {event_id}: {'VERIFIED' if verdict.ok else 'NOT VERIFIED'}")
    sys.exit(0 if verdict.ok else 1)


@audit.command("scan")
@click.option("--json", "as_json", is_flag=True, help="findings as JSON lines")
def audit_scan(as_json: bool) -> None:
    """Re-hash the Kafka log and the read models against the anchored roots.

    Lists every event or row that was altered, forged, or is not yet anchored; exits 1
    if anything was altered or forged.
    """
    from ledger.audit.scan import scan
    from ledger.chain import ChainError

    try:
        report = scan(get_settings(), progress=not as_json)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        for finding in report.findings:
            click.echo(json.dumps(finding.as_dict()))
    else:
        click.echo(report.render())
    sys.exit(1 if report.tampered else 0)
