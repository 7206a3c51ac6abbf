"""The audit API: an event's inclusion proof and the list of anchored batches (FR_MP_BC_2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ledger.audit.proof import BatchPage, EventProof
from ledger.audit.proofs import ProofService
from ledger.auth.access import ANY, OWN, AnyParticipant, allowed
from ledger.http import errors

router = APIRouter(prefix="/audit", tags=["audit"])


def proof_service(request: Request) -> ProofService:
    """The app's proof service (built once at start-up; see ``market.api.app``)."""
    return request.app.state.proofs  # type: ignore[no-any-return]


Proofs = Annotated[ProofService, Depends(proof_service)]
# A proof carries its event, which the leaf is the hash of, so it is shown to auditors
# (whose work it is) and to the event's own actor; batches are roots only, for anyone.
ProofReader = allowed(auditor=ANY, market_admin=ANY, dso=OWN, tso=OWN, aggregator=OWN)


@router.get("/events/{event_id}/proof", response_model=EventProof, responses=errors(404, 409))
def get_event_proof(event_id: str, proofs: Proofs, caller: ProofReader) -> EventProof:
    """The event, its Merkle leaf and sibling path, its batch and the anchoring transaction.
    Auditors and the market's admin read any event's proof; a participant, those of the
    events it published.

    Check it with ``flexmarket audit verify``, which trusts neither this API nor its
    database: only the chain.
    """
    proof = proofs.proof(event_id)
    caller.require_own(proof.event["actor"], field="event_id")
    return proof


@router.get("/batches", response_model=BatchPage, responses=errors())
def list_anchored_batches(
    proofs: Proofs, caller: AnyParticipant,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    partition: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
) -> BatchPage:
    """Anchored batches, newest first; filter by topic and partition."""
    return proofs.batches(topic=topic, partition=partition, limit=limit, offset=offset)
