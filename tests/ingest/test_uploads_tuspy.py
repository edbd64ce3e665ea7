"""Resumable uploads with the real tus client (tuspy) against a real uvicorn server: a
multi-chunk upload, a new client resuming at the server's offset, and a connection dropped in
the middle of a PATCH, after which the bytes that arrived are kept and the upload resumes.

``run_tus_scenario`` is shared with ``tests/storage/test_uploads_s3.py`` (the S3 store).
"""

from __future__ import annotations

import hashlib
import io
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session
from tusclient.client import TusClient
from tusclient.uploader.uploader import Uploader

from ingest.uploads import open_upload
from tests.factories import make_org, make_token, make_user

KiB = 1024
CHUNK = 256 * KiB
SIZE = 3 * 1024 * KiB + 12345  # not a multiple of the chunk size


class Sha256Uploader(Uploader):
    """tuspy checksums with sha1 unless told otherwise; the catalog's own is sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real HTTP server on a free loopback port; yields its base URL."""
    # Bound here and handed to uvicorn, so the port is known before it starts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the uvicorn test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def publisher_token(session: Session) -> str:
    return make_token(session, make_user(session, "alice", org=make_org(session, "smhi")))


def drop_mid_patch(url: str, token: str, offset: int, body: bytes, send: int) -> None:
    """Start a PATCH of ``body`` at ``offset``, send ``send`` bytes of it, and hang up."""
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Tus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\n"
        "Content-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(head + body[:send])
        # Time for the server to pass what arrived to the store before the hang-up; bytes
        # still in its socket buffer at that moment are (rightly) not counted.
        time.sleep(0.5)


def server_offset(url: str, token: str) -> int:
    response = httpx.head(
        url, headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    )
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


def wait_for_offset_change(url: str, token: str, old: int, timeout: float = 15) -> int:
    """The interrupted PATCH is recorded a moment after the hang-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        offset = server_offset(url, token)
        if offset != old:
            return offset
        time.sleep(0.05)
    raise AssertionError(f"the server's offset stayed at {old}")


def run_tus_scenario(
    app: FastAPI, session: Session, *, size: int = SIZE, dropped_after: int = CHUNK + 1000
) -> None:
    """Upload ``size`` bytes with tuspy in 256 KiB chunks, interrupted twice (the second time
    after ``dropped_after`` bytes of a PATCH), and check every byte."""
    token = publisher_token(session)
    data = random.Random(7).randbytes(size)
    with serving(app) as base:
        client = TusClient(f"{base}/api/v1/uploads", headers={"Authorization": f"Bearer {token}"})
        metadata = {"filename": "väder.bin", "dataset": "smhi/temp", "content_type": "text/csv"}

        # 1. A client uploads the first four chunks, then stops (a closed laptop).
        first = Sha256Uploader(
            file_stream=io.BytesIO(data),
            client=client,
            chunk_size=CHUNK,
            metadata=metadata,
            upload_checksum=True,
        )
        first.upload(stop_at=4 * CHUNK)
        url = first.url
        assert url is not None and url.startswith(f"{base}/api/v1/uploads/")
        assert server_offset(url, token) == 4 * CHUNK

        # 2. A connection breaks in the middle of a PATCH: what arrived is kept.
        rest = data[4 * CHUNK :]
        drop_mid_patch(url, token, 4 * CHUNK, rest, send=dropped_after)
        offset = wait_for_offset_change(url, token, 4 * CHUNK)
        # All of it, unless the hang-up overtook bytes still in the server's socket buffer.
        assert 4 * CHUNK < offset <= 4 * CHUNK + dropped_after

        # 3. A new client (no checksums, tuspy's default) resumes at the server's offset.
        second = client.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK)
        assert second.offset == offset
        second.upload()
        assert server_offset(url, token) == size

        status = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        assert status["complete"] is True
        assert status["sha256"] == hashlib.sha256(data).hexdigest()
        assert (status["filename"], status["dataset"]) == ("väder.bin", "smhi/temp")

    session.expire_all()
    with open_upload(session, app.state.store, status["id"]) as stream:
        digest = hashlib.sha256()
        while piece := stream.read(100_000):
            digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_tuspy_uploads_and_resumes_on_the_local_store(app: FastAPI, session: Session) -> None:
    run_tus_scenario(app, session)
