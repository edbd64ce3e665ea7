"""Resumable uploads (tus 1.0.0) into the object store's staging area.

The HTTP routes are ``ingest.uploads.tus.router``; what the ingest pipeline uses is here:

    get_upload(session, upload_id) -> Upload          filename, dataset, sha256, state, …
    open_upload(session, store, upload_id) -> BinaryIO  the complete file, as one stream
    delete_upload(session, store, upload_id)          once ingested
    expire_uploads(session, store, *, now) -> int     every few minutes, from the worker
    finish_upload(session, store=…, upload=…, settings=…)  retry a completion check
"""

from ingest.uploads.cleanup import expire_uploads, sweep_orphans
from ingest.uploads.models import Upload, UploadChunk, UploadState
from ingest.uploads.receiving import finish_upload
from ingest.uploads.service import delete_upload, get_upload, open_upload

__all__ = [
    "Upload",
    "UploadChunk",
    "UploadState",
    "delete_upload",
    "expire_uploads",
    "finish_upload",
    "get_upload",
    "open_upload",
    "sweep_orphans",
]
