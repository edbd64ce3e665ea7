"""The original is composed while the job still normalises: as soon as the upload is complete
and every chunk has been read (and checked), with the media type normalising found. A chunk
nobody read is checked before it is composed; a job that stops writes no original."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.storage.base import ObjectStore, StoreError
from ingest.originals import EarlyOriginals
from ingest.uploads.models import UploadChunk
from ingest.uploads.service import open_upload
from tests.ingest import test_uploads_support as support
from tests.ingest.test_uploads_support import create, metadata, patch, upload_id

people, alice, store = support.people, support.alice, support.store

CSV = ("kommun;år\n" + "".join(f"Malmö {i};{2000 + i % 20}\n" for i in range(3000))).encode()
PARTS = [CSV[:20_000], CSV[20_000:35_000], CSV[35_000:]]
PREFIX = "datasets/smhi/temp/v1/"
ORIGINAL = PREFIX + "original/temp.csv"


def upload(client: TestClient, headers: dict[str, str], parts: list[bytes]) -> str:
    """An upload of CSV of which ``parts`` have arrived; returns its id."""
    url = create(client, headers, length=len(CSV), meta=metadata())
    offset = 0
    for part in parts:
        assert patch(client, url, headers, offset, part).status_code == 204
        offset += len(part)
    return upload_id(url)


def read_all(app: FastAPI, store: ObjectStore, uploaded: str) -> None:
    """What normalising does to every chunk: read it whole, which checks it."""
    with app.state.session_factory() as session, open_upload(session, store, uploaded) as stream:
        while stream.read(1 << 16):
            pass


def wait_for(predicate: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_composed_once_every_chunk_is_read_before_normalising_ends(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    uploaded = upload(client, alice, PARTS)
    read_all(app, store, uploaded)
    uploads = [(uploaded, "temp.csv")]
    with EarlyOriginals(app.state.session_factory, store, PREFIX, uploads) as originals:
        originals.detected(uploaded, "text/csv")
        # Normalising has not said it ended (it is computing statistics): composed anyway.
        wait_for(lambda: store.exists(ORIGINAL))
        stored = originals.result(uploaded, "text/csv")
    assert (stored.key, stored.size) == ("original/temp.csv", len(CSV))
    assert stored.sha256 == hashlib.sha256(CSV).hexdigest()
    info = store.head(ORIGINAL)
    assert (info.size, info.sha256, info.content_type) == (len(CSV), stored.sha256, "text/csv")
    assert b"".join(store.get(ORIGINAL)) == CSV


def test_a_chunk_nobody_read_is_checked_before_it_is_composed(
    app: FastAPI,
    client: TestClient,
    alice: dict[str, str],
    store: ObjectStore,
    session: Session,
) -> None:
    uploaded = upload(client, alice, PARTS)
    # A reader that stopped early read none of the chunks; one changed in the store since.
    chunk = session.scalars(select(UploadChunk).order_by(UploadChunk.start)).all()[1]
    forged = PARTS[1].replace(b"Malm\xc3\xb6", b"Lund\xc3\xa5")
    assert len(forged) == chunk.size
    store.put(chunk.key, [forged])
    with EarlyOriginals(app.state.session_factory, store, PREFIX, [(uploaded, "temp.csv")]) as o:
        o.detected(uploaded, "text/csv")
        o.normalised(uploaded)
        with pytest.raises(StoreError, match="does not hold the bytes that were received"):
            o.result(uploaded, "text/csv")
    assert not store.exists(ORIGINAL)


def test_a_job_that_stops_before_the_upload_is_complete_writes_no_original(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    uploaded = upload(client, alice, PARTS[:2])  # still receiving
    with EarlyOriginals(app.state.session_factory, store, PREFIX, [(uploaded, "temp.csv")]) as o:
        o.detected(uploaded, "text/csv")
    # The job left the block (it failed, or lost its lease) and the thread has stopped; the
    # rest of the upload arrives later and nothing composes it.
    url = f"/api/v1/uploads/{uploaded}"
    assert patch(client, url, alice, len(PARTS[0]) + len(PARTS[1]), PARTS[2]).status_code == 204
    assert not list(store.list(PREFIX))


def test_composed_again_under_the_media_type_normalising_settled_on(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    uploaded = upload(client, alice, PARTS)
    read_all(app, store, uploaded)
    with EarlyOriginals(app.state.session_factory, store, PREFIX, [(uploaded, "temp.csv")]) as o:
        o.detected(uploaded, "text/plain")
        wait_for(lambda: store.exists(ORIGINAL))
        stored = o.result(uploaded, "text/csv")
    assert stored.media_type == "text/csv"
    assert store.head(ORIGINAL).content_type == "text/csv"
    assert b"".join(store.get(ORIGINAL)) == CSV


def test_an_upload_normalising_never_named_is_composed_when_asked_for(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    uploaded = upload(client, alice, PARTS)
    with EarlyOriginals(app.state.session_factory, store, PREFIX, [(uploaded, "temp.csv")]) as o:
        stored = o.result(uploaded, "text/csv")  # no detected(): composed here, chunks checked
    assert stored.sha256 == hashlib.sha256(CSV).hexdigest()
    assert b"".join(store.get(ORIGINAL)) == CSV
