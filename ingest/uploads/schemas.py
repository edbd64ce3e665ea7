"""The JSON view of an upload (GET /api/v1/uploads/{id}, the form upload's answer)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ingest.uploads.models import Upload, UploadState


class UploadPublic(BaseModel):
    id: str
    url: str = Field(description="The tus upload URL (HEAD, PATCH, DELETE).")
    filename: str
    dataset: str = Field(description="organisation/name the file is for.")
    content_type: str | None
    length: int | None = Field(description="Total bytes; null while the client defers it.")
    offset: int = Field(description="Bytes received so far.")
    state: UploadState
    complete: bool
    sha256: str | None = Field(description="Of the whole file, once complete.")
    error: str | None = Field(description="Why the upload failed.")
    created_at: datetime
    expires_at: datetime = Field(description="When the upload and its bytes are deleted.")


class UploadsPublic(BaseModel):
    data: list[UploadPublic]
    count: int


def upload_path(upload_id: str) -> str:
    return f"/api/v1/uploads/{upload_id}"


def upload_public(upload: Upload, *, url: str | None = None) -> UploadPublic:
    return UploadPublic(
        id=upload.id,
        url=url or upload_path(upload.id),
        filename=upload.filename,
        dataset=upload.dataset,
        content_type=upload.content_type,
        length=upload.length,
        offset=upload.offset,
        state=upload.state,
        complete=upload.is_complete,
        sha256=upload.sha256 if upload.is_complete else None,
        error=upload.error,
        created_at=upload.created_at,
        expires_at=upload.expires_at,
    )
