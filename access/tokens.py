"""API tokens: created for a user, stored as a sha256 hash, shown in clear exactly once."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.models import ApiToken
from catalog.errors import InvalidInput, NotAuthenticated
from catalog.models import User

TOKEN_PREFIX = "dh_"
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_duration(text: str) -> timedelta:
    """'30d', '12h', '90m', '2w' -> timedelta; anything else is refused."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            f"invalid duration {text!r}; use a number and a unit s, m, h, d or w, e.g. 30d",
            field="expires_in",
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def create_token(
    session: Session, *, user: User, name: str = "", expires_in: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Return the stored token row and the secret, which is never stored or shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        name=name,
        expires_at=datetime.now(UTC) + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def user_for_token(session: Session, secret: str, *, now: datetime | None = None) -> User:
    """The user a presented token belongs to, or NotAuthenticated (never says which check)."""
    now = now or datetime.now(UTC)
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret))
    ).first()
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("invalid or revoked token")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("the token has expired")
    return token.user


def revoke_token(session: Session, *, token: ApiToken) -> None:
    token.revoked_at = datetime.now(UTC)
    session.flush()
