"""The one error tree of flexmarket: every rejection carries a stable code and the field."""

from __future__ import annotations

from typing import ClassVar


class FlexmarketError(Exception):
    """Base of every domain and application error.

    Args:
        message: what went wrong, for a person.
        code: a stable machine-readable code, e.g. ``OFFER_AFTER_GATE_CLOSURE``.
        field: the input field at fault, dotted (``payload.pod_id``), if any.
    """

    http_status = 400
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class Rejected(FlexmarketError):
    """Input that breaks a rule; nothing was written."""

    http_status = 422


class NotFound(FlexmarketError):
    http_status = 404


class Conflict(FlexmarketError):
    """The request is valid but the state forbids it now (e.g. a closed gate)."""

    http_status = 409


class Unauthorized(FlexmarketError):
    """The caller sent no token, or one that cannot be trusted."""

    http_status = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(FlexmarketError):
    http_status = 403


class InvalidEvent(Rejected):
    """An event that does not satisfy the envelope or its payload schema."""
