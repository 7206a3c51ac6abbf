"""Liveness: the API process answers. It reads no database and no broker, so load
balancers (and ``bench/api_load.py``, as the server's ceiling) can call it freely."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from ledger.auth.access import PUBLIC
from ledger.http import errors

router = APIRouter(prefix="/v1/health", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("", response_model=Health, responses=errors(), openapi_extra=PUBLIC)
def get_health() -> Health:
    """The API process is up (it says nothing of Kafka, PostgreSQL or the chain)."""
    return Health()
