"""A small tus 1.0 client for `datahamn ingest`: resumable, checksummed, bounded memory.

Each PATCH carries one chunk (read into memory, so memory stays at one chunk) with a sha256
``Upload-Checksum``; after a network error the client asks the server for its offset (HEAD)
and continues from there, so a dropped connection costs at most one chunk.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from datahamn.cli._errors import CliError
from datahamn.cli._http import ApiClient, HttpError

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_BYTES = 8 << 20
RETRIES = 5


def _metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _absolute_path(location: str) -> str:
    """The Location header as a path from the server root."""
    if location.startswith(("http://", "https://")):
        return "/" + location.split("://", 1)[1].split("/", 1)[1]
    return location


def tus_create(client: ApiClient, path: Path, *, dataset: str) -> str:
    """Create the upload of ``path`` for ``dataset``; returns its URL (a path on the server).

    Creating first lets the caller queue the ingestion before sending a byte, so the server
    normalises the file while it arrives.
    """
    size = path.stat().st_size
    created = client.request(
        "POST",
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": str(size),
            "Upload-Metadata": _metadata({"filename": path.name, "dataset": dataset}),
        },
    )
    location = created.headers.get("Location")
    if not location:
        raise CliError("the server created the upload but sent no Location")
    return _absolute_path(location)


def upload_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def tus_send(
    client: ApiClient,
    url: str,
    path: Path,
    *,
    on_progress: Callable[[int], None],
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    """Send ``path``'s bytes to the upload at ``url``, resuming at the server's offset."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            chunk = handle.read(chunk_bytes)
            offset = _patch(client, url, offset, chunk)
            on_progress(offset)
        if size == 0:
            on_progress(0)


def _patch(client: ApiClient, url: str, offset: int, chunk: bytes) -> int:
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    for attempt in range(RETRIES + 1):
        try:
            response = client.request(
                "PATCH",
                url,
                absolute=True,
                content=chunk,
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Checksum": f"sha256 {digest}",
                },
            )
            return int(response.headers["Upload-Offset"])
        except HttpError as exc:
            # 4xx other than a checksum mismatch (460) will not change by retrying.
            if attempt == RETRIES or (exc.status < 500 and exc.status != 460):
                raise
            time.sleep(min(2**attempt, 30))
            server = _server_offset(client, url)
            if server != offset:
                return server
        except CliError:
            if attempt == RETRIES:
                raise
            time.sleep(min(2**attempt, 30))
            # The server may have kept part of the chunk: continue from what it has.
            server = _server_offset(client, url)
            if server != offset:
                return server
    raise AssertionError("unreachable")


def _server_offset(client: ApiClient, url: str) -> int:
    try:
        response = client.request("HEAD", url, absolute=True, headers=TUS)
        return int(response.headers["Upload-Offset"])
    except (CliError, KeyError, ValueError, httpx.HTTPError) as exc:
        raise CliError(f"lost the upload at {url}: {exc}") from exc
