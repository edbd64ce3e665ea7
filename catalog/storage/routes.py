"""Serve LocalStore's signed object URLs: GET and HEAD with byte ranges, PUT uploads.

An S3Store's signed URLs point at the S3 server itself, so with one configured these routes
answer 404.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from catalog.errors import ErrorDetail, error_body
from catalog.storage.base import InvalidKey, ObjectNotFound, StoreUnavailable
from catalog.storage.local import LocalStore
from catalog.storage.signing import InvalidSignature
from catalog.storage.streams import FileRange

__all__ = ["RangeNotSatisfiable", "parse_range", "router"]

router = APIRouter(tags=["objects"])

_BYTE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")  # not \d: it matches non-ASCII digits


class RangeNotSatisfiable(Exception):
    """The Range header asks only for bytes the object does not have (HTTP 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a ``Range`` header asks of a ``size``-byte object, or None for
    the whole object. Raises RangeNotSatisfiable.

    Several ranges, other units and malformed headers are ignored, as RFC 9110 allows, so the
    client gets the whole object with 200.
    """
    match = _BYTE_RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(last), size - 1) if last else size - 1


@router.api_route("/objects/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def get_object(
    request: Request, key: str, expires: str | None = None, signature: str | None = None
) -> Response:
    store = _local_store(request)
    if store is None:
        return _error(404, "not-found", "no such object")
    try:
        store.verify_signature("GET", key, expires, signature)
        info, file = store.open(key)
    except InvalidSignature as exc:
        return _error(403, "permission-denied", str(exc))
    except InvalidKey as exc:
        return _error(422, "invalid-input", str(exc), field="path.key")
    except ObjectNotFound:
        return _error(404, "not-found", "no such object")
    except StoreUnavailable:
        return _error(503, "unavailable", "the object store is unavailable")
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{info.etag}"',
        "Last-Modified": format_datetime(info.last_modified, usegmt=True),
        "Content-Type": info.content_type,
    }
    try:
        byte_range = parse_range(request.headers.get("range"), info.size)
    except RangeNotSatisfiable:
        file.close()
        return _error(
            416,
            "range-not-satisfiable",
            f"the object has {info.size} bytes",
            headers={"Content-Range": f"bytes */{info.size}"},
        )
    status, (start, end) = 200, (0, info.size - 1)
    if byte_range is not None:
        status, (start, end) = 206, byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        file.close()
        return Response(status_code=status, headers=headers)
    return StreamingResponse(FileRange(file, start, end), status_code=status, headers=headers)


@router.put("/objects/{key:path}", include_in_schema=False)
async def put_object(
    request: Request, key: str, expires: str | None = None, signature: str | None = None
) -> Response:
    store = _local_store(request)
    if store is None:
        return _error(404, "not-found", "no such object")
    try:
        store.verify_signature("PUT", key, expires, signature)
    except InvalidSignature as exc:
        return _error(403, "permission-denied", str(exc))
    put = functools.partial(
        store.put,
        key,
        _blocking_chunks(request.stream()),
        content_type=request.headers.get("content-type", "application/octet-stream"),
    )
    try:
        info = await anyio.to_thread.run_sync(put)
    except InvalidKey as exc:
        return _error(422, "invalid-input", str(exc), field="path.key")
    except StoreUnavailable:
        return _error(503, "unavailable", "the object store is unavailable")
    except ClientDisconnect:
        # Nobody is left to read a response; the partial upload was already discarded.
        return Response(status_code=400)
    return Response(status_code=200, headers={"ETag": f'"{info.etag}"'})


def _blocking_chunks(body: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body for store.put, which runs in a worker thread: each chunk is awaited
    on the event loop as put() asks for it, so the body is never held whole."""

    async def next_chunk() -> bytes | None:
        try:
            return await anext(body)
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


def _local_store(request: Request) -> LocalStore | None:
    store = getattr(request.app.state, "store", None)
    return store if isinstance(store, LocalStore) else None


def _error(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    details = [ErrorDetail(field=field, message=message)] if field else None
    return JSONResponse(
        status_code=status, content=error_body(code, message, details), headers=headers
    )
