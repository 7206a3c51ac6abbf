"""The OAuth2 token endpoint (RFC 6749 §4.4, client credentials): a registered participant
trades its id and secret for a bearer token naming it and its role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from ledger.auth.access import PUBLIC
from ledger.auth.store import authenticate
from ledger.auth.tokens import issue
from ledger.errors import Unauthorized
from ledger.http import errors

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenIssued(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    participant_id: str
    role: str


@router.post("/token", response_model=TokenIssued, responses=errors(), openapi_extra=PUBLIC)
def issue_token(
    request: Request,
    grant_type: Annotated[Literal["client_credentials"], Form()],
    client_id: Annotated[str, Form(min_length=1, max_length=100)],
    client_secret: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenIssued:
    """A bearer token for a registered participant (`flexmarket participants add`),
    valid for `FLEXMARKET_AUTH_TOKEN_MINUTES`."""
    engine = request.app.state.engine
    with engine.connect() as conn:
        participant = authenticate(conn, client_id, client_secret)
    if participant is None:
        raise Unauthorized("unknown participant, wrong secret, or disabled",
                           code="INVALID_CLIENT", field="client_secret")
    ttl = timedelta(minutes=request.app.state.settings.auth_token_minutes)
    token = issue(request.app.state.keyring, participant.participant_id, participant.role,
                  now=datetime.now(UTC), ttl=ttl)
    return TokenIssued(access_token=token, expires_in=int(ttl.total_seconds()),
                       participant_id=participant.participant_id, role=participant.role)
