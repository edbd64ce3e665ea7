"""HMAC signatures for the object URLs that LocalStore hands out and the objects route serves.

A URL carries ``method``, ``expires`` (unix seconds) and ``signature``: the hex HMAC-SHA256,
keyed with the service's secret key, of ``"METHOD\\nkey\\nexpires"``. The key is signed as the
decoded object key, so the URL's percent-encoding does not matter.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["InvalidSignature", "sign", "verify"]


class InvalidSignature(Exception):
    """The signature is missing, malformed, does not match, or has expired."""


def _message(method: str, key: str, expires: int) -> bytes:
    return f"{method.upper()}\n{key}\n{expires}".encode()


def sign(secret_key: str, method: str, key: str, expires: int) -> str:
    """The hex signature that lets ``method`` on ``key`` until ``expires`` (unix seconds)."""
    if not secret_key:
        raise ValueError("an empty secret key would make every signature forgeable")
    return hmac.new(secret_key.encode(), _message(method, key, expires), hashlib.sha256).hexdigest()


def verify(
    secret_key: str,
    method: str,
    key: str,
    expires: str | int | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> None:
    """Raise InvalidSignature unless ``signature`` is valid for this request and not expired.

    ``expires`` and ``signature`` are taken as they come from the query string, so absent or
    garbled values are refused here rather than by every caller.
    """
    if not signature or expires is None:
        raise InvalidSignature("the URL is not signed")
    try:
        expires_at = int(expires)
    except ValueError:
        raise InvalidSignature("the URL's expiry is not a number") from None
    expected = sign(secret_key, method, key, expires_at)
    # The match is checked before the expiry so that a forged URL is never told it merely
    # expired.
    # Bytes, because compare_digest refuses non-ASCII str and the query string is untrusted.
    if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
        raise InvalidSignature("the URL's signature does not match")
    if (time.time() if now is None else now) > expires_at:
        raise InvalidSignature("the URL has expired")
