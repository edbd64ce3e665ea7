"""POST /api/v1/uploads/form: one small file in a multipart form, for curl and web forms.

The form parser (python-multipart) spools the file to a temporary file (in memory up to
1 MiB, then on disk) before the route sees it; the size cap, enforced while the body is
read, bounds that spool. Files larger than the cap belong in tus, which streams.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message

from catalog.deps import CurrentPrincipal, SessionDep, SettingsDep, StoreDep
from catalog.errors import InvalidInput
from ingest.uploads.bridge import run_streaming
from ingest.uploads.errors import PayloadTooLarge
from ingest.uploads.metadata import (
    UploadTarget,
    check_content_type,
    check_dataset,
    check_filename,
    check_sha256,
)
from ingest.uploads.schemas import upload_path, upload_public
from ingest.uploads.service import create_form_upload, require_signed_in

# Room for the form's boundaries, part headers and small fields around the file itself.
FORM_OVERHEAD = 64 * 1024

OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "dataset"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "dataset": {"type": "string", "description": "organisation/name"},
                        "filename": {"type": "string", "description": "instead of the part's"},
                        "content_type": {"type": "string"},
                        "sha256": {"type": "string", "description": "of the file, checked"},
                    },
                }
            }
        },
    }
}


async def form_upload(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """Upload a small file (``upload_form_max_bytes``) in one request; the answer is the
    complete upload."""
    require_signed_in(principal)  # before a byte of the body is read
    cap = settings.upload_form_max_bytes
    limit = cap + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(_too_large(cap), field="file")
    form = await _limited(request, limit, cap).form(max_files=1, max_fields=10)
    try:
        file, target = _target(form)
        size = file.size if file.size is not None else 0
        if size > cap:
            raise PayloadTooLarge(_too_large(cap), field="file")
        upload = await run_streaming(
            create_form_upload,
            session,
            store,
            principal=principal,
            settings=settings,
            target=target,
            file=file.file,
            size=size,
        )
    finally:
        await form.close()
    url = str(request.scope.get("root_path", "")) + upload_path(upload.id)
    return JSONResponse(
        upload_public(upload, url=url).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": url},
    )


def _target(form: FormData) -> tuple[UploadFile, UploadTarget]:
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise InvalidInput("send the file as the multipart field 'file'", field="file")
    dataset = _text(form, "dataset")
    if dataset is None:
        raise InvalidInput("name the dataset as 'organisation/name'", field="dataset")
    organisation, name = check_dataset(dataset, field="dataset")
    filename = _text(form, "filename") or file.filename or ""
    content_type = _text(form, "content_type")
    sha256 = _text(form, "sha256")
    return file, UploadTarget(
        organisation=organisation,
        dataset=name,
        filename=check_filename(filename, field="filename" if form.get("filename") else "file"),
        content_type=(
            check_content_type(content_type, field="content_type")
            if content_type
            else _part_type(file)
        ),
        sha256=check_sha256(sha256, field="sha256") if sha256 else None,
    )


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a text field, not a file", field=name)
    return value


def _part_type(file: UploadFile) -> str | None:
    # The part's own Content-Type is a browser's guess; kept only if well-formed, and
    # application/octet-stream says nothing.
    value = (file.content_type or "").strip()
    if not value or value == "application/octet-stream":
        return None
    try:
        return check_content_type(value, field="file")
    except InvalidInput:
        return None


def _too_large(cap: int) -> str:
    return f"a form upload is at most {cap} bytes; send larger files with tus"


def _limited(request: Request, limit: int, cap: int) -> Request:
    """The request, reading at most ``limit`` body bytes (chunked bodies have no length)."""
    received = 0
    receive = request.receive

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(_too_large(cap), field="file")
        return message

    return Request(request.scope, limited_receive)
