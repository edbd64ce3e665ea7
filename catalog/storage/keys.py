"""The rules every object key follows, in every store (``catalog.storage.base``).

They are checked before a key becomes a file path (``LocalStore``) or an S3 object name
(``S3Store``), so both stores refuse the same keys and a key can never name a path outside
the store's root.
"""

from __future__ import annotations

from catalog.storage.base import InvalidKey

MAX_KEY_BYTES = 1024


def validate_key(key: str) -> str:
    """Return ``key`` if it is an acceptable object key, else raise InvalidKey.

    ``.`` segments are refused as well as ``..``: a filesystem and an HTTP client would both
    collapse them, so ``a/./b`` could not be told apart from ``a/b``.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("a key must be a non-empty string")
    _check_characters(key, "key")
    if key.startswith("/"):
        raise InvalidKey(f"key {key!r} is absolute; keys are relative paths")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can start a valid key, else raise InvalidKey.

    Every segment but the last must be a valid key segment; the last is a partial name
    (``data/part-`` matches ``data/part-0``) and may be empty.
    """
    if not isinstance(prefix, str):
        raise InvalidKey("a prefix must be a string")
    if not prefix:
        return prefix
    _check_characters(prefix, "prefix")
    if prefix.startswith("/"):
        raise InvalidKey(f"prefix {prefix!r} is absolute; keys are relative paths")
    for segment in prefix.split("/")[:-1]:
        _check_segment(prefix, segment)
    return prefix


def _check_characters(value: str, what: str) -> None:
    if "\x00" in value:
        raise InvalidKey(f"{what} {value!r} contains NUL")
    if "\\" in value:
        raise InvalidKey(f"{what} {value!r} contains a backslash")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey(f"{what} {value!r} is not valid Unicode") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"{what} is {size} bytes; the limit is {MAX_KEY_BYTES}")


def _check_segment(key: str, segment: str) -> None:
    if segment == "":
        raise InvalidKey(f"key {key!r} has an empty segment")
    if segment in {".", ".."}:
        raise InvalidKey(f"key {key!r} has a {segment!r} segment")
