"""Turn a request's credentials into a Principal (deny by default).

No ``Authorization`` header means the anonymous principal; a header that is present but
malformed, unknown, revoked or expired is a 401, never a silent downgrade to anonymous.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request

from access.tokens import user_for_token
from catalog.errors import NotAuthenticated
from catalog.principal import ANONYMOUS, Principal
from catalog.users import principal_for_user


def principal_from_request(session: Session, request: Request) -> Principal:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise NotAuthenticated("use 'Authorization: Bearer <token>'")
    user = user_for_token(session, credentials.strip())
    return principal_for_user(session, user)
