"""The error answer every flexmarket HTTP route gives, and its OpenAPI declaration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from ledger.store.queries import utc

_DESCRIPTIONS = {
    400: "Bad request", 401: "No bearer token, or one that is not valid",
    403: "Not the caller's role, or not its own record",
    404: "Not found",
    409: "Conflicts with the current state (e.g. a closed gate)",
    422: "Invalid input; `field` names it", 503: "A service behind the API is unavailable",
}


StoredTime = Annotated[datetime, AfterValidator(utc)]
"""A time read back from the read models, answered as aware UTC whatever the database
gave (SQLite gives naive times), as the document's ``date-time`` requires."""


class ErrorBody(BaseModel):
    """Every error answer: a stable code, a message for people, and the field at fault."""

    code: str = Field(examples=["OFFER_AFTER_GATE_CLOSURE"])
    message: str
    field: str | None = Field(None, examples=["steps.0.mtu"])


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route may answer, plus the 401, 403,
    422 and 503 that every route may."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]}
            for s in sorted({*statuses, 401, 403, 422, 503})}
