"""An ingestion on the S3 store (SeaweedFS), watched through a store that records what the
worker asks of it: the original is composed inside the server from the upload's staged
chunks (no GET of a chunk for it, no PUT of it), and publishing checks every object with a
HEAD instead of reading it back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalog.storage import ObjectInfo, ObjectStore, S3Store
from datahamn.app import create_app
from datahamn.worker import handlers
from ingest.jobs.worker import Worker
from tests.factories import auth, make_org, make_token, make_user
from tests.support.s3_app import s3_settings
from tests.support.seaweed import SeaweedServer

pytestmark = [pytest.mark.s3, pytest.mark.slow]
MiB = 1 << 20


class Recording:
    """The worker's store, recording each call (the real S3Store does the work)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def put(self, key: str, data: BinaryIO | Iterable[bytes], **kwargs: Any) -> ObjectInfo:
        self.calls.append(("put", key))
        return self.inner.put(key, data, **kwargs)

    def get(self, key: str, **kwargs: Any) -> Iterator[bytes]:
        self.calls.append(("get", key))
        return self.inner.get(key, **kwargs)

    def compose(self, sources: Sequence[str], target: str, **kwargs: Any) -> ObjectInfo:
        self.calls.append(("compose", target))
        return self.inner.compose(sources, target, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def csv_bytes(size: int) -> bytes:
    rows = "".join(f"{n:06d} Kommun;{2000 + n % 20};{n % 300 / 10:.1f}\n" for n in range(50_000))
    body = rows.encode()
    data = b"kommun;ar;temperatur\n" + body * (size // len(body) + 1)
    return data[: data.rindex(b"\n", 0, size) + 1]


def test_ingest_composes_the_original_and_publishes_after_heads(
    db_url: str, tmp_path: Path, session: Session, seaweedfs: SeaweedServer
) -> None:
    settings = s3_settings(seaweedfs, db_url=db_url, home=tmp_path, bucket="ingest")
    app = create_app(settings, upgrade_on_start=False)
    assert isinstance(app.state.store, S3Store)
    token = make_token(session, make_user(session, "alice", org=make_org(session, "smhi")))
    data = csv_bytes(13 * MiB)
    # Three PATCHes: 6 MiB, 6 MiB and the rest; S3 needs every part but the last >= 5 MiB.
    cuts = [0, 6 * MiB, 12 * MiB, len(data)]
    tus = {"Tus-Resumable": "1.0.0", **auth(token)}
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post(
            "/api/v1/uploads",
            headers={
                **tus,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": "filename dC5jc3Y=,dataset c21oaS90ZW1w",  # t.csv, smhi/temp
            },
        )
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        for start, end in zip(cuts, cuts[1:], strict=False):
            patched = client.patch(
                url,
                content=data[start:end],
                headers={
                    **tus,
                    "Upload-Offset": str(start),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert patched.status_code == 204, patched.text
        uploaded = client.get(url, headers=auth(token)).json()
        assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
        queued = client.post(
            "/api/v1/ingest",
            headers=auth(token),
            json={"upload_ids": [uploaded["id"]], "dataset": "smhi/temp", "licence": "CC0-1.0"},
        )
        assert queued.status_code == 202, queued.text

        store = Recording(app.state.store)
        worker = Worker(
            factory=app.state.session_factory,
            store=store,
            handlers=handlers(),
        )
        assert worker.run_once()
        done = client.get(f"/api/v1/jobs/{queued.json()['id']}", headers=auth(token)).json()
        assert done["state"] == "succeeded", done
        assert done["result"]["state"] == "published"

    original = "datasets/smhi/temp/v1/original/t.csv"
    assert ("compose", original) in store.calls
    assert ("put", original) not in store.calls
    # No object of the version is ever read back: publishing checked them with HEADs.
    assert [key for verb, key in store.calls if verb == "get" and key.startswith("datasets/")] == []
    # Normalising read every staged chunk (checking each against its recorded sha256);
    # storing the original read none of them again.
    composed = store.calls.index(("compose", original))
    chunk_reads = [
        (n, key)
        for n, (verb, key) in enumerate(store.calls)
        if (verb, key[:8]) == ("get", "staging/")
    ]
    assert len({key for _, key in chunk_reads}) == 3
    assert all(n < composed for n, _ in chunk_reads)

    s3 = app.state.store
    info = s3.head(original)
    assert info.etag.endswith("-3"), "three parts, each copied inside the server"
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert hashlib.sha256(b"".join(s3.get(original))).hexdigest() == info.sha256
    parquet = s3.head("datasets/smhi/temp/v1/data/part-0.parquet")
    assert (
        parquet.sha256
        == hashlib.sha256(b"".join(s3.get("datasets/smhi/temp/v1/data/part-0.parquet"))).hexdigest()
    )
    app.state.engine.dispose()
