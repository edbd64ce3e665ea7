"""Domain errors and the one JSON error envelope every HTTP error uses.

    DatahamnError              500 internal-error (base; never raised bare)
     ├── InvalidInput          422 invalid-input      a field's value is not acceptable
     ├── NotAuthenticated      401 not-authenticated  missing, bad or expired credentials
     ├── PermissionDenied      403 permission-denied  authenticated but not allowed
     ├── NotFound              404 not-found          absent, or not visible to the caller
     ├── Conflict              409 conflict           duplicate name, wrong state
     └── Unavailable           503 unavailable        a backing service is down

The envelope, pinned by ``tests/test_error_envelope.py``::

    {"error": {"code": "not-found", "message": "…", "details": [{"field": "…", "message": "…"}]}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one field (``field`` is a dotted path such as ``body.name``)."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DatahamnError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"

    def __init__(
        self, message: str, *, field: str | None = None, details: list[ErrorDetail] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        if field is not None:
            self.details.insert(0, ErrorDetail(field=field, message=message))


class InvalidInput(DatahamnError):
    status_code = 422
    code = "invalid-input"


class NotAuthenticated(DatahamnError):
    status_code = 401
    code = "not-authenticated"


class PermissionDenied(DatahamnError):
    status_code = 403
    code = "permission-denied"


class NotFound(DatahamnError):
    status_code = 404
    code = "not-found"


class Conflict(DatahamnError):
    status_code = 409
    code = "conflict"


class Unavailable(DatahamnError):
    status_code = 503
    code = "unavailable"


def error_body(code: str, message: str, details: list[ErrorDetail] | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [d.as_dict() for d in details or []],
        }
    }
