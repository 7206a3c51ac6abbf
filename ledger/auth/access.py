"""The access every route declares: the roles that may call it and how far each reaches,
checked from the bearer token before the handler runs (STYLE.md "role checks are
dependencies").

A route takes ``Annotated[Principal, Depends(Access(aggregator=OWN, dso=ANY))]``;
``declare_access`` copies each route's declaration into the OpenAPI document as
``x-roles``, from which the authorisation matrix test is generated, and refuses a route
that declares none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.auth.roles import Role, Scope
from ledger.auth.tokens import Keyring, TokenInvalid, verify
from ledger.errors import Forbidden, Unauthorized

OWN, ANY = Scope.OWN, Scope.ANY
PUBLIC = {"x-public": True}
"""``openapi_extra`` of the routes anyone may call: the token endpoint and liveness."""

Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(
    auto_error=False, description="a token from POST /v1/auth/token"))]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, and how far the route lets its role reach."""

    participant_id: str
    role: Role
    scope: Scope

    @property
    def sees_all(self) -> bool:
        return self.scope is Scope.ANY

    def require_own(self, owner_id: str | None, *, field: str) -> None:
        """Let the caller act on or read a record of ``owner_id`` only if it is its own
        (or the route lets its role reach everyone's).

        Raises:
            Forbidden: ``NOT_YOURS``, naming ``field``.
        """
        if not self.sees_all and owner_id != self.participant_id:
            raise Forbidden(f"{self.participant_id} ({self.role}) may not act for or read "
                            f"the records of {owner_id}", code="NOT_YOURS", field=field)

    def own_filter(self, requested: str | None, *, field: str) -> str | None:
        """The participant a listing is filtered to: as requested for a role that sees
        all, else the caller itself (asking for another is refused)."""
        if self.sees_all:
            return requested
        self.require_own(requested or self.participant_id, field=field)
        return self.participant_id


class Access:
    """The roles that may call a route, each with its scope."""

    def __init__(self, **roles: Scope) -> None:
        self.roles = {Role(name): scope for name, scope in roles.items()}

    def __call__(self, request: Request,
                 credentials: Bearer) -> Principal:
        if credentials is None:
            raise Unauthorized("send a bearer token (POST /v1/auth/token) in the "
                               "Authorization header", code="NOT_AUTHENTICATED",
                               field="Authorization")
        keys: Keyring = request.app.state.keyring
        try:
            # Tokens expire in real time, whatever clock the market runs on.
            claims = verify(keys, credentials.credentials, now=datetime.now(UTC))
        except TokenInvalid as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}", code="INVALID_TOKEN",
                               field="Authorization") from exc
        scope = self.roles.get(claims.role)
        if scope is None:
            allowed = ", ".join(sorted(self.roles))
            raise Forbidden(f"a {claims.role} may not call this route (roles: {allowed})",
                            code="ROLE_NOT_ALLOWED", field="Authorization")
        return Principal(claims.participant_id, claims.role, scope)

    @property
    def openapi(self) -> dict[str, str]:
        return {role.value: scope.value for role, scope in self.roles.items()}


def allowed(**roles: Scope) -> Any:
    """``Annotated[Principal, …]``: the authenticated caller of a route open to ``roles``
    (role name → scope)."""
    return Annotated[Principal, Depends(Access(**roles))]


AnyParticipant = allowed(dso=ANY, tso=ANY, aggregator=ANY, customer=ANY, auditor=ANY,
                         market_admin=ANY)


def _access_of(dependant: Dependant) -> Access | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            return dependency.call
        found = _access_of(dependency)
        if found is not None:
            return found
    return None


def declare_access(router: APIRouter) -> None:
    """Write each route's access into its OpenAPI operation as ``x-roles``.

    Raises:
        LookupError: a route neither declares an ``Access`` nor is ``PUBLIC``.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute) or (route.openapi_extra or {}).get("x-public"):
            continue
        access = _access_of(route.dependant)
        if access is None:
            raise LookupError(f"{sorted(route.methods)} {route.path} declares no access")
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": access.openapi}
