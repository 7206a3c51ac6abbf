"""The FastAPI application: routers, the error mapping, and what it builds at start-up.

Errors are mapped once here (STYLE.md "Errors"): a ``FlexmarketError`` becomes its 4xx
with ``{code, message, field}``; invalid input a 422 naming the field; and a failure of
the services behind the API a 503, never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from access_layer.api import scd
from aggregator.api import portfolio
from dso.api import grid as dso_grid
from dso.api import kpis as dso_kpis
from dso.api import state as dso_state
from ledger.audit.api import router as audit_router
from ledger.audit.proofs import ProofService
from ledger.auth import api as auth_api
from ledger.auth.access import declare_access
from ledger.auth.keys import keyring
from ledger.errors import FlexmarketError
from ledger.settings import Settings, get_settings
from market.api.submission import Submitter
from market.api.v1 import (
    health,
    kpis,
    offers,
    outcomes,
    pods,
    requests,
    sessions,
    settlements,
    uftp,
)
from market.clock import build_clock
from market.domain.clock import Clock
from market.web.router import router as dashboard_router

log = structlog.get_logger("flexmarket.api")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The API app on ``settings`` (the environment's by default) and the market clock
    they configure (``clock`` overrides it, for tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = settings or get_settings()
        # As many connections as the server's worker threads, so no request queues for one.
        engine = create_engine(chosen.read_model_url, pool_pre_ping=True, pool_size=20,
                               max_overflow=20)
        market_clock = clock or build_clock(chosen)
        app.state.settings = chosen
        app.state.keyring = keyring(chosen)
        app.state.engine = engine
        app.state.clock = market_clock
        app.state.proofs = ProofService(chosen, engine)
        app.state.submitter = Submitter(chosen, engine, market_clock)
        yield
        app.state.submitter.close()
        engine.dispose()

    app = FastAPI(title="flexmarket", version="0.1.0", lifespan=lifespan,
                  description="Local flexibility market: sessions, requests, offers, "
                  "outcomes, and proofs of every event against the chain.")
    for router in (auth_api.router, health.router, sessions.router, requests.router, offers.router,
                   outcomes.router, pods.router, scd.router, portfolio.router,
                   settlements.router, kpis.router, dso_grid.router, dso_state.router,
                   dso_kpis.router, audit_router, dashboard_router, uftp.router):
        declare_access(router)
        app.include_router(router)
    app.add_exception_handler(FlexmarketError, _flexmarket_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unavailable)
    return app


async def _flexmarket_error(request: Request, exc: FlexmarketError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=exc.headers)


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0]
    where = [str(part) for part in first["loc"] if part not in ("body", "query", "path",
                                                                  "header")]
    # Malformed JSON is located by its character position; the field at fault is the body.
    field = "body" if first["type"] == "json_invalid" else ".".join(where) or None
    return JSONResponse({"code": "INVALID_REQUEST", "message": f"{field}: {first['msg']}",
                         "field": field}, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI's and Starlette's own refusals in the one error body: a body it cannot
    parse (400, e.g. bytes that are not UTF-8) is invalid input like any other, a 422
    naming the body; unknown paths and methods keep their status."""
    if exc.status_code == 400:
        return JSONResponse({"code": "INVALID_REQUEST", "field": "body",
                             "message": f"body: {exc.detail}"}, status_code=422)
    try:
        code = HTTPStatus(exc.status_code).name
    except ValueError:
        code = "HTTP_ERROR"
    return JSONResponse({"code": code, "message": str(exc.detail), "field": None},
                        status_code=exc.status_code, headers=exc.headers)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("request failed on a service behind the API", path=request.url.path,
              error=repr(exc))
    retry_after = request.app.state.settings.retry_after_seconds
    return JSONResponse({"code": "SERVICE_UNAVAILABLE", "field": None,
                         "message": "a service behind the API (database, Kafka or chain) "
                                    "did not answer; try again"}, status_code=503,
                        headers={"Retry-After": str(retry_after)})
