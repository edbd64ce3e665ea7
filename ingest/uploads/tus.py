"""/api/v1/uploads: resumable uploads (tus 1.0.0) and a plain multipart form for small files.

tus: creation (with upload, deferred length), termination, expiration and checksum (sha1,
sha256). Routes stay thin: parse headers, call ``service``, answer with tus headers. Every
answer, errors included, carries ``Tus-Resumable``; errors keep the JSON envelope.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from catalog.deps import CurrentPrincipal, SessionDep, SettingsDep, StoreDep
from catalog.errors import DatahamnError, error_body
from catalog.storage.base import StoreUnavailable
from ingest.uploads import form
from ingest.uploads.bridge import ThreadBody, run_streaming
from ingest.uploads.errors import (
    TUS_VERSION,
    BadRequest,
    PreconditionFailed,
    UnsupportedMediaType,
)
from ingest.uploads.metadata import target_from_metadata
from ingest.uploads.models import Upload
from ingest.uploads.receiving import append
from ingest.uploads.schemas import UploadPublic, UploadsPublic, upload_path, upload_public
from ingest.uploads.service import (
    create_upload,
    get_owned_upload,
    list_uploads,
    require_signed_in,
    terminate,
)
from ingest.uploads.staging import CHECKSUM_ALGORITHMS, Checksum

log = logging.getLogger(__name__)
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
OFFSET_STREAM = "application/offset+octet-stream"
_INTEGER = re.compile(r"^[0-9]{1,19}$")


class TusRoute(APIRoute):
    """Adds ``Tus-Resumable`` to every answer and renders domain errors here, because the
    app's error handlers cannot add tus's headers (``Tus-Version`` on a 412)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except DatahamnError as exc:
                headers = dict(getattr(exc, "headers", {}))
                if exc.status_code == 401:
                    headers["WWW-Authenticate"] = "Bearer"
                response = JSONResponse(
                    error_body(exc.code, exc.message, exc.details),
                    status_code=exc.status_code,
                    headers=headers,
                )
            except StoreUnavailable as exc:
                log.error("object store unavailable: %s", exc)
                response = JSONResponse(
                    error_body("unavailable", "the object store is unavailable"), status_code=503
                )
            response.headers.setdefault("Tus-Resumable", TUS_VERSION)
            return response

        return tus_handler


router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], route_class=TusRoute)


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
def options(settings: SettingsDep) -> Response:
    """What this tus server supports (tus ignores Tus-Resumable on OPTIONS)."""
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.upload_max_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """tus creation: ``Upload-Length`` (or ``Upload-Defer-Length: 1``) and
    ``Upload-Metadata`` naming ``filename`` and ``dataset``; a body is the first chunk."""
    _check_version(request)
    require_signed_in(principal)
    length = _integer(request, "Upload-Length")
    deferred = request.headers.get("upload-defer-length")
    if deferred is not None and (deferred != "1" or length is not None):
        raise BadRequest(
            "Upload-Defer-Length must be 1, and only without Upload-Length",
            field="Upload-Defer-Length",
        )
    if length is None and deferred is None:
        raise BadRequest("send Upload-Length, or Upload-Defer-Length: 1", field="Upload-Length")
    header = request.headers.get("upload-metadata", "")
    target = target_from_metadata(header)
    with_body = _media_type(request) == OFFSET_STREAM
    checksum = _checksum(request) if with_body else None
    content_length = _integer(request, "Content-Length")

    def work() -> Upload:
        upload = create_upload(
            session,
            principal=principal,
            settings=settings,
            target=target,
            length=length,
            metadata_header=header.strip(),
        )
        if not with_body:
            return upload
        return append(
            session,
            store,
            upload=upload,
            offset=0,
            body=ThreadBody(request),
            settings=settings,
            content_length=content_length,
            checksum=checksum,
        )

    upload = await run_streaming(work)
    headers = {"Location": _url(request, upload), **_expires(upload)}
    if with_body:
        headers["Upload-Offset"] = str(upload.offset)
    return Response(status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("")
def list_(session: SessionDep, principal: CurrentPrincipal, request: Request) -> UploadsPublic:
    """The caller's uploads that have not expired, newest first."""
    rows = list_uploads(session, principal=principal)
    return UploadsPublic(
        data=[upload_public(u, url=_url(request, u)) for u in rows], count=len(rows)
    )


router.add_api_route(
    "/form",
    form.form_upload,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=UploadPublic,
    openapi_extra=form.OPENAPI,
)


# HEAD before GET: a GET route would also answer HEAD.
@router.head("/{upload_id}")
def head(
    upload_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The upload's offset, to resume from (never cached)."""
    _check_version(request)
    upload = get_owned_upload(session, principal=principal, upload_id=upload_id)
    headers = {"Upload-Offset": str(upload.offset), "Cache-Control": "no-store"}
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header  # validated when it came in
    return Response(status_code=status.HTTP_200_OK, headers={**headers, **_expires(upload)})


@router.get("/{upload_id}")
def get(
    upload_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> UploadPublic:
    """The upload as JSON, for its owner."""
    upload = get_owned_upload(session, principal=principal, upload_id=upload_id)
    return upload_public(upload, url=_url(request, upload))


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def patch(
    upload_id: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """Append the body at ``Upload-Offset``, streamed to the store as one chunk."""
    _check_version(request)
    upload = await run_in_threadpool(
        get_owned_upload, session, principal=principal, upload_id=upload_id
    )
    if _media_type(request) != OFFSET_STREAM:
        raise UnsupportedMediaType(f"a PATCH body must be {OFFSET_STREAM}", field="Content-Type")
    offset = _integer(request, "Upload-Offset")
    if offset is None:
        raise BadRequest("Upload-Offset is required", field="Upload-Offset")
    upload = await run_streaming(
        append,
        session,
        store,
        upload=upload,
        offset=offset,
        body=ThreadBody(request),
        settings=settings,
        content_length=_integer(request, "Content-Length"),
        checksum=_checksum(request),
        declared_length=_integer(request, "Upload-Length"),
    )
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={"Upload-Offset": str(upload.offset), **_expires(upload)},
    )


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    upload_id: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    principal: CurrentPrincipal,
) -> Response:
    """tus termination: the upload and its bytes are deleted."""
    _check_version(request)
    upload = get_owned_upload(session, principal=principal, upload_id=upload_id)
    terminate(session, store, upload=upload)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def method_override(
    upload_id: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """tus core: ``X-HTTP-Method-Override: PATCH|DELETE`` for clients that cannot send them."""
    method = request.headers.get("x-http-method-override", "").upper()
    if method == "PATCH":
        return await patch(upload_id, request, session, store, settings, principal)
    if method == "DELETE":
        return await run_in_threadpool(delete, upload_id, request, session, store, principal)
    raise BadRequest(
        "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE",
        field="X-HTTP-Method-Override",
    )


def _check_version(request: Request) -> None:
    version = request.headers.get("tus-resumable")
    if version != TUS_VERSION:
        got = f"not {version!r}" if version else "it is missing"
        raise PreconditionFailed(
            f"Tus-Resumable must be {TUS_VERSION}; {got}", field="Tus-Resumable"
        )


def _integer(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not _INTEGER.match(value.strip()):
        raise BadRequest(f"{name} must be a non-negative integer, not {value!r}", field=name)
    return int(value)


def _checksum(request: Request) -> Checksum | None:
    header = request.headers.get("upload-checksum")
    return Checksum.parse(header) if header is not None else None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _url(request: Request, upload: Upload) -> str:
    # A path, not an absolute URL: clients resolve it against the URL they posted to, so it
    # stays right behind proxies (tus allows relative Location).
    return str(request.scope.get("root_path", "")) + upload_path(upload.id)


def _expires(upload: Upload) -> dict[str, str]:
    return {"Upload-Expires": _http_date(upload.expires_at)}


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)
