"""The auditor's check: a proof from anywhere, against the chain, trusting neither our API
nor our database. Only the chain's JSON-RPC and the contract address the auditor pins."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from web3 import Web3
from web3.exceptions import Web3Exception

from contracts.deploy import contract
from ledger.anchoring import Stream
from ledger.audit.proof import EventProof, ProofInvalid, check_proof
from ledger.chain import connect


@dataclass
class Verdict:
    """What was checked, step by step, and whether the event is proven anchored."""

    ok: bool = True
    steps: list[str] = field(default_factory=list)

    def passed(self, step: str) -> None:
        self.steps.append(f"ok    {step}")

    def failed(self, step: str) -> Verdict:
        self.steps.append(f"FAIL  {step}")
        self.ok = False
        return self


def fetch_proof(api_url: str, event_id: str, token: str) -> EventProof:
    """Ask an API for an event's proof (which the proof's checks then need not trust),
    with ``token`` as the bearer (an auditor's, or the event's publisher's).

    Raises:
        LookupError: the API answered with an error (its code and message included).
        httpx.HTTPError: the API could not be reached.
    """
    response = httpx.get(f"{api_url.rstrip('/')}/audit/events/{event_id}/proof", timeout=30,
                         headers={"Authorization": f"Bearer {token}"} if token else {})
    if response.status_code != 200:
        try:
            body = response.json()
            detail = f"{body.get('code')}: {body.get('message')}"
        except ValueError:
            detail = response.text[:200]
        raise LookupError(f"{api_url} answered {response.status_code} ({detail})")
    return EventProof.model_validate(response.json())


def verify(proof: EventProof, chain_url: str, anchor_address: str) -> Verdict:
    """Check ``proof`` on its own and then against ``EventAnchor`` at ``anchor_address``.

    The chain is asked for the root anchored at exactly the batch's coordinates, and the
    named transaction must carry EventAnchor's own log for that batch and root.
    """
    verdict = Verdict()
    try:
        root = check_proof(proof)
    except ProofInvalid as exc:
        return verdict.failed(str(exc))
    batch = proof.batch
    verdict.passed(f"event hash, leaf and path lead to root {batch.root}")
    if batch.contract.lower() != anchor_address.lower():
        return verdict.failed(f"the proof names contract {batch.contract}, not the "
                              f"EventAnchor you trust ({anchor_address})")
    try:
        return _on_chain(proof, root, chain_url, anchor_address, verdict)
    except Web3Exception as exc:
        return verdict.failed(f"the chain at {chain_url} could not confirm it: {exc}")
    except OSError as exc:
        return verdict.failed(f"no chain answers at {chain_url}: {exc}")


def _on_chain(proof: EventProof, root: bytes, chain_url: str, anchor_address: str,
              verdict: Verdict) -> Verdict:
    batch = proof.batch
    w3 = connect(chain_url)
    if w3.eth.chain_id != batch.chain_id:
        return verdict.failed(f"{chain_url} is chain {w3.eth.chain_id}, the proof says "
                              f"{batch.chain_id}")
    anchor = contract(w3, "EventAnchor", Web3.to_checksum_address(anchor_address))
    stream = Stream(batch.topic, batch.partition)
    on_chain = bytes(anchor.functions.rootOf(stream.topic, stream.partition, batch.first_offset,
                                             batch.last_offset, batch.count).call())
    if on_chain == bytes(32):
        return verdict.failed(f"the chain has no batch {stream} {batch.first_offset}.."
                              f"{batch.last_offset} of {batch.count} events")
    if on_chain != root:
        return verdict.failed(f"the chain anchored root 0x{on_chain.hex()} for that batch")
    verdict.passed(f"EventAnchor {anchor_address} holds that root for {stream} "
                   f"{batch.first_offset}..{batch.last_offset}")
    receipt = w3.eth.get_transaction_receipt(batch.tx_hash)
    ours = [log for log in anchor.events.BatchAnchored().process_receipt(receipt)
            if log["address"].lower() == anchor_address.lower()]
    wanted = (stream.topic, stream.partition, batch.first_offset, batch.last_offset,
              batch.count, root)
    if not any((log["args"]["topic"], log["args"]["partition"], log["args"]["firstOffset"],
                log["args"]["lastOffset"], log["args"]["count"], bytes(log["args"]["root"]))
               == wanted for log in ours):
        return verdict.failed(f"transaction {batch.tx_hash} did not anchor that batch")
    verdict.passed(f"transaction {batch.tx_hash} (block {receipt['blockNumber']}) anchored it")
    return verdict
