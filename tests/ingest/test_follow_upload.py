"""Ingesting an upload while it arrives: the job is queued before the last byte, the worker
reads the chunks as they are recorded, and the version is the same as after a finished
upload. An upload that stops arriving, fails or is cancelled fails the job with
``upload-incomplete`` and publishes nothing; a chunk whose bytes changed in the store is
caught."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Dataset, DatasetVersion
from catalog.storage.base import ObjectStore, StoreError
from datahamn.worker import handlers
from ingest.errors import IngestError
from ingest.jobs.worker import Worker
from ingest.uploads import follow
from ingest.uploads.follow import follow_upload
from ingest.uploads.models import Upload, UploadChunk, UploadState
from tests.ingest import test_uploads_support as support
from tests.ingest.test_uploads_support import create, metadata, patch

people, alice, store = support.people, support.alice, support.store

ROWS = 3000
CSV = (
    "kommun;år;värde\n" + "".join(f"Malmö {i};{2000 + i % 20};{i},5\n" for i in range(ROWS))
).encode()
PARTS = [CSV[:20_000], CSV[20_000:50_000], CSV[50_000:]]


def submit(client: TestClient, headers: dict[str, str], upload_url: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/ingest",
        headers=headers,
        json={
            "upload_ids": [upload_url.rsplit("/", 1)[1]],
            "dataset": "smhi/temp",
            "licence": "CC-BY-4.0",
        },
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def run_worker(app: FastAPI) -> threading.Thread:
    worker = Worker(factory=app.state.session_factory, store=app.state.store, handlers=handlers())
    thread = threading.Thread(target=worker.run_once, daemon=True)
    thread.start()
    return thread


def job(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/jobs/{job_id}", headers=headers).json())


def wait_for(predicate: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_job_queued_before_the_last_byte_publishes_the_whole_file(
    app: FastAPI, client: TestClient, alice: dict[str, str], session: Session
) -> None:
    url = create(client, alice, length=len(CSV))
    assert patch(client, url, alice, 0, PARTS[0]).status_code == 204
    queued = submit(client, alice, url)  # accepted while the upload is still receiving
    thread = run_worker(app)
    # The worker has started and waits for bytes; the rest arrives in two more PATCHes.
    wait_for(lambda: job(client, alice, queued["id"])["progress_message"].startswith("normalising"))
    offset = len(PARTS[0])
    for part in PARTS[1:]:
        assert patch(client, url, alice, offset, part).status_code == 204
        offset += len(part)
    thread.join(60)
    assert not thread.is_alive()

    done = job(client, alice, queued["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["tables"] == [{"name": "temp", "rows": ROWS, "columns": 3}]
    version = client.get("/api/v1/datasets/smhi/temp/versions/1", headers=alice).json()
    files = {f["key"]: f for f in version["files"]}
    assert files["original/temp.csv"]["size"] == len(CSV)
    assert files["data/part-0.parquet"]["row_count"] == ROWS


def test_an_upload_that_stops_arriving_fails_the_job_and_publishes_nothing(
    app: FastAPI,
    client: TestClient,
    alice: dict[str, str],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(follow, "STALL_SECONDS", 0.5)
    url = create(client, alice, length=len(CSV))
    assert patch(client, url, alice, 0, PARTS[0]).status_code == 204
    queued = submit(client, alice, url)
    run_worker(app).join(60)

    done = job(client, alice, queued["id"])
    assert done["state"] == "failed", done
    assert done["error"]["problem"] == "upload-incomplete"
    assert "no bytes arrived for 0.5 s at byte 20,000" in done["error"]["message"]
    states = session.scalars(select(DatasetVersion.state)).all()
    assert [s.value for s in states] == ["rejected"]
    assert session.scalar(select(func.count()).select_from(Dataset)) == 1  # made, not published
    assert client.get("/api/v1/datasets/smhi/temp/versions/1", headers={}).status_code == 404


def test_a_cancelled_upload_fails_the_job(
    app: FastAPI, client: TestClient, alice: dict[str, str]
) -> None:
    url = create(client, alice, length=len(CSV))
    assert patch(client, url, alice, 0, PARTS[0]).status_code == 204
    queued = submit(client, alice, url)
    thread = run_worker(app)
    wait_for(lambda: job(client, alice, queued["id"])["progress_message"].startswith("normalising"))
    assert client.delete(url, headers=alice).status_code == 204  # tus termination
    thread.join(60)
    done = job(client, alice, queued["id"])
    assert done["state"] == "failed", done
    assert done["error"]["problem"] == "upload-incomplete"
    assert "cancelled or has expired" in done["error"]["message"]


def test_a_failed_upload_is_refused_at_submission(
    client: TestClient, alice: dict[str, str], session: Session
) -> None:
    url = create(client, alice, length=len(CSV))
    upload = session.get_one(Upload, url.rsplit("/", 1)[1])
    upload.state, upload.error = UploadState.failed, "sha256 does not match"
    session.commit()
    response = client.post(
        "/api/v1/ingest",
        headers=alice,
        json={"upload_ids": [upload.id], "dataset": "smhi/temp", "licence": "CC-BY-4.0"},
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert [d["field"] for d in error["details"]] == ["upload_ids"]
    assert "upload the file again" in error["message"]


def test_the_reader_waits_for_chunks_and_ends_when_the_upload_is_complete(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    url = create(client, alice, length=len(CSV))
    upload_id = url.rsplit("/", 1)[1]
    read: list[bytes] = []
    stream = follow_upload(app.state.session_factory, store, upload_id, poll_seconds=0.01)

    def reader() -> None:
        with stream:
            while data := stream.read(4096):
                read.append(data)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    offset = 0
    for part in PARTS:
        assert patch(client, url, alice, offset, part).status_code == 204
        offset += len(part)
        assert thread.is_alive() or offset == len(CSV)  # it does not end before the end
    thread.join(30)
    assert not thread.is_alive()
    assert b"".join(read) == CSV


def test_a_chunk_changed_in_the_store_is_caught(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore, session: Session
) -> None:
    url = create(client, alice, length=len(PARTS[0]), meta=metadata())
    assert patch(client, url, alice, 0, PARTS[0]).status_code == 204
    chunk = session.scalars(select(UploadChunk)).one()
    forged = bytes(PARTS[0]).replace(b"Malm\xc3\xb6", b"Lund\xc3\xa5")
    assert len(forged) == chunk.size
    store.put(chunk.key, [forged])
    stream = follow_upload(app.state.session_factory, store, chunk.upload_id)
    with pytest.raises(StoreError, match="does not hold the bytes that were received"), stream:
        while stream.read(1 << 16):
            pass


def test_a_stall_names_the_file_and_the_byte(
    app: FastAPI, client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    url = create(client, alice, length=len(CSV))
    assert patch(client, url, alice, 0, PARTS[0]).status_code == 204
    stream = follow_upload(
        app.state.session_factory,
        store,
        url.rsplit("/", 1)[1],
        filename="temp.csv",
        stall_seconds=0.2,
        poll_seconds=0.01,
    )
    with pytest.raises(IngestError) as caught, stream:
        assert stream.read(len(PARTS[0])) == PARTS[0]
        stream.read(1)
    assert caught.value.problem == "upload-incomplete"
    assert caught.value.message.endswith("(temp.csv)")
    assert "at byte 20,000" in caught.value.message
