"""The aggregator's portfolio over REST: how each of its PoDs is offered at the scheduled
submission of every session (FR_AP_MI&O_2: the operator flags the PoDs to offer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from access_layer.api.scd import own_pod
from aggregator.domain.events import CostStep, PodOfferTermsSet
from aggregator.domain.offers import CostCurve
from market.api.deps import Aggregator, IdempotencyKey, SubmitterDep, write_responses
from market.api.submission import accept
from market.api.v1.schemas import SubmissionAccepted

router = APIRouter(prefix="/v1/aggregators", tags=["aggregator"])
IdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


class OfferTerms(BaseModel):
    """Whether the PoD is offered, how much of its max flexibility, in which directions and
    quantities, and at what prices (a cost curve over the share of what is available)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool
    availability: float = Field(1.0, ge=0, le=1)
    directions: list[Literal["up", "down"]] = Field(["up"], min_length=1, max_length=2)
    quantity_types: list[Literal["P", "Q"]] = Field(["P"], min_length=1, max_length=2)
    cost_curve: list[CostStep] = Field(min_length=1, max_length=10)


@router.put("/{aggregator_id}/pods/{pod_id}/offer-terms", status_code=201,
            response_model=SubmissionAccepted, responses=write_responses(401, 403, 404))
def set_offer_terms(aggregator_id: IdPath, pod_id: IdPath, body: OfferTerms,
                    caller: Aggregator, submitter: SubmitterDep, response: Response,
                    idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """Set how one of the aggregator's PoDs is offered from the next session on; the
    offers are built from its baseline and posted when each session opens."""
    # The curve's own rules (shares rising to 1, prices not falling), named by step.
    CostCurve(tuple((s.share, s.price_eur_per_mwh) for s in body.cost_curve))

    def payload_of(conn: Connection, now: datetime) -> PodOfferTermsSet:
        own_pod(conn, pod_id, aggregator_id, field="pod_id")
        return PodOfferTermsSet.model_validate({
            "pod_id": pod_id, "aggregator_id": aggregator_id, **body.model_dump()})

    return accept(submitter, response, caller, actor=aggregator_id, key=idempotency_key,
                  route=f"offer-terms:{pod_id}", body=body, payload_of=payload_of)
