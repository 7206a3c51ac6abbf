"""Settlement over REST: aggregators' settlement mechanisms (FR_MP_SET_1/2), operators'
fundings, settlement outcomes by day, week or month as JSON or CSV (FR_MP_SET_6/7), and
wallets, each readable by its owner only."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from ledger.auth.access import ANY, OWN
from ledger.errors import Conflict
from ledger.http import StoredTime
from market.api.deps import (
    AccountHolder,
    Aggregator,
    DbConnection,
    IdempotencyKey,
    SettingsDep,
    SubmitterDep,
    SystemOperator,
    allowed,
    errors,
    write_responses,
)
from market.api.submission import accept
from market.api.v1.schemas import SubmissionAccepted
from market.chain.tokens import TokenLedger
from market.domain.events import (
    Identifier,
    OperatorFunded,
    ParticipantId,
    SettlementMechanismCreated,
)
from market.store import settlement_queries

MechanismReader = allowed(aggregator=OWN, market_admin=ANY)
router = APIRouter(tags=["settlement"])
ParticipantPath = Annotated[str, Path(min_length=1, max_length=100,
                                      pattern=r"^[A-Za-z0-9._:-]+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class MechanismCreate(_Input):
    """A settlement mechanism: how the aggregator pays the customers of its PoDs."""

    mechanism_id: str = Identifier
    aggregator_id: str = ParticipantId
    revenue_share_pct: float = Field(ge=0, le=100)
    reward_cents_per_kwh: float = Field(0, ge=0, le=10_000)
    penalty_pass_through_pct: float = Field(0, ge=0, le=100)
    terms: str = Field("", max_length=2000)


class MechanismPublic(MechanismCreate):
    created_at: StoredTime


class MechanismPage(BaseModel):
    items: list[MechanismPublic]


class FundingCreate(_Input):
    """Money a system operator paid in, to be minted as tokens to its wallet."""

    funding_id: str = Identifier
    operator_id: str = ParticipantId
    amount_cents: int = Field(ge=1, le=10**15)
    reference: str = Field("", max_length=300)


class PodSettlementPublic(BaseModel):
    delivery_day: date
    pod_id: str
    aggregator_id: str
    customer_id: str
    mechanism_id: str | None
    awarded_value_cents: int
    payment_cents: int
    penalty_cents: int
    customer_cents: int
    penalised: bool
    requesters: list[dict[str, Any]]


class SettlementPage(BaseModel):
    participant_id: str
    first_day: date
    last_day: date
    items: list[PodSettlementPublic]


class TransferPublic(BaseModel):
    settlement_id: str
    delivery_day: date
    pod_id: str
    kind: str
    payer_id: str
    payee_id: str
    amount_cents: int
    tx_hash: str
    transferred_at: StoredTime


class WalletPublic(BaseModel):
    """A participant's wallet: its address on chain, its balance there, and its
    settlement transfers as the read models hold them."""

    participant_id: str
    address: str
    balance_cents: int
    transfers: list[TransferPublic]


@router.post("/v1/settlement-mechanisms", status_code=201, response_model=SubmissionAccepted,
             responses=write_responses(409))
def create_mechanism(body: MechanismCreate, submitter: SubmitterDep, response: Response,
                     caller: Aggregator,
                     idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """FR_MP_SET_1: create a settlement mechanism; PoDs registered with its id are
    settled with their customers under it. Ids are first come, first served."""

    def payload_of(conn: Connection, now: datetime) -> SettlementMechanismCreated:
        if settlement_queries.get_mechanism(conn, body.mechanism_id) is not None:
            raise Conflict(f"mechanism {body.mechanism_id} exists", code="MECHANISM_EXISTS",
                           field="mechanism_id")
        return SettlementMechanismCreated(**body.model_dump())

    return accept(submitter, response, caller, actor=body.aggregator_id, key=idempotency_key,
                  route=f"mechanism:{body.mechanism_id}", body=body, payload_of=payload_of)


@router.get("/v1/settlement-mechanisms", response_model=MechanismPage,
            responses=errors())
def list_mechanisms(conn: DbConnection, caller: MechanismReader, aggregator_id: Annotated[
        str, Query(min_length=1, max_length=100)]) -> MechanismPage:
    """FR_MP_SET_2: the settlement mechanisms of an aggregator, oldest first."""
    caller.require_own(aggregator_id, field="aggregator_id")
    return MechanismPage(items=[
        MechanismPublic(**{k: getattr(r, k) for k in MechanismCreate.model_fields},
                        created_at=r.created_at)
        for r in settlement_queries.mechanisms_of(conn, aggregator_id)])


@router.post("/v1/fundings", status_code=201, response_model=SubmissionAccepted,
             responses=write_responses(403, 409))
def fund(body: FundingCreate, caller: SystemOperator, submitter: SubmitterDep,
         response: Response, idempotency_key: IdempotencyKey = None) -> SubmissionAccepted:
    """A system operator pays money in; the settlement processor mints as many tokens
    (cents) to its wallet, once per ``funding_id``. Only the operator itself funds."""

    def payload_of(conn: Connection, now: datetime) -> OperatorFunded:
        if settlement_queries.get_funding(conn, body.funding_id) is not None:
            raise Conflict(f"funding {body.funding_id} was recorded before",
                           code="FUNDING_EXISTS", field="funding_id")
        return OperatorFunded(**body.model_dump())

    return accept(submitter, response, caller, actor=body.operator_id, key=idempotency_key,
                  route=f"funding:{body.funding_id}", body=body, payload_of=payload_of,
                  actor_field="operator_id")


def period_days(day: date, period: Literal["day", "week", "month"]) -> tuple[date, date]:
    """The first and last day of the ISO week or calendar month of ``day``, or the day."""
    if period == "day":
        return day, day
    if period == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


CSV_COLUMNS = ("delivery_day", "pod_id", "aggregator_id", "customer_id", "mechanism_id",
               "awarded_value_cents", "payment_cents", "penalty_cents", "customer_cents",
               "penalised")


@router.get("/v1/participants/{participant_id}/settlements", response_model=SettlementPage,
            responses={**errors(401, 403, 404), 200: {
                "content": {"text/csv": {}},
                "description": "the settlements; CSV with format=csv"}})
def list_settlements(
    participant_id: ParticipantPath, caller: AccountHolder, conn: DbConnection,
    day: Annotated[date, Query(description="a day of the period")],
    period: Annotated[Literal["day", "week", "month"], Query()] = "day",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """FR_MP_SET_6/7: the PoD settlements a participant is part of (as aggregator,
    customer or paying operator) for the day, ISO week or month of ``day``, as JSON or
    as a CSV download. Only the participant reads its own."""
    caller.require_own(participant_id, field="participant_id")
    first, last = period_days(day, period)
    items = [PodSettlementPublic(
        **{k: getattr(r, k) for k in CSV_COLUMNS},
        requesters=list(r.payload.get("requesters", [])))
        for r in settlement_queries.settlements_of(conn, participant_id, first, last)]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for item in items:
            writer.writerow([getattr(item, c) if getattr(item, c) is not None else ""
                             for c in CSV_COLUMNS])
        name = f"settlements-{participant_id}-{period}-{first.isoformat()}.csv"
        return Response(out.getvalue(), media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})
    return SettlementPage(participant_id=participant_id, first_day=first, last_day=last,
                          items=items)


@router.get("/v1/wallets/{participant_id}", response_model=WalletPublic,
            responses=errors(401, 403, 404))
def get_wallet(participant_id: ParticipantPath, caller: AccountHolder, conn: DbConnection,
               settings: SettingsDep) -> WalletPublic:
    """A participant's wallet: address, balance on chain, and its transfers. Only its
    owner reads it."""
    caller.require_own(participant_id, field="participant_id")
    # An unreachable chain is a ChainError: the app answers 503, never 500.
    tokens = TokenLedger.open(settings)
    balance = tokens.balance(participant_id)
    transfers = [TransferPublic(**{k: getattr(r, k) for k in TransferPublic.model_fields})
                 for r in settlement_queries.transfers_of(conn, participant_id)]
    return WalletPublic(participant_id=participant_id, address=tokens.wallet(participant_id),
                        balance_cents=balance, transfers=transfers)
