"""Events of the DSO Technical Platform (Platone flow 4: the technical outcome)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.catalog import EventPayload, event_type
from ledger.topics import Topic
from market.domain.events import Identifier, MtuIndex, SessionId


class AwardVerdict(BaseModel):
    """The DSO's verdict on one award of a market outcome (MARKET_RULES.md "Technical
    validation"): the quantity it lets through, and why it cut the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    award_id: str = Identifier
    request_id: str = Identifier
    offer_id: str = Identifier
    mtu: int = MtuIndex
    accepted_quantity: float = Field(ge=0, le=1e9)  # kW or kVAr
    status: Literal["accepted", "partially_accepted", "rejected"]
    reason: str | None = Field(None, max_length=500)


@event_type("TechnicalValidationCompleted", topic=Topic.VALIDATIONS, key="session_id")
class TechnicalValidationCompleted(EventPayload):
    """The technical outcome of one market outcome (FR_MP_FS_5 step 1: each uniquely
    related to one market outcome). An award without a verdict is not validated: final
    clearing rejects it, since only what the DSO checked may be activated."""

    validation_id: str = Identifier
    session_id: str = SessionId
    market_outcome_event_id: str = Identifier
    verdicts: tuple[AwardVerdict, ...] = Field(max_length=1_000_000)
    # What the verdicts rest on. A power flow that did not converge is named here, and its
    # MTU's awards are rejected: it is never passed as a success.
    grid: str | None = Field(None, max_length=200)
    non_converged_mtus: tuple[int, ...] = ()
    statistics: dict[str, float | int | str] = Field(default_factory=dict)
