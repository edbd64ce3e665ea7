"""The ingestion pipeline end to end through the API: upload, queue, worker, published
version; re-runs with the stored spec; schema changes; bad input rejected with nothing
published; a job retried after the object store failed mid-way makes one version only."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import DatasetVersion, Role
from catalog.storage.base import ObjectInfo, ObjectStore
from datahamn.worker import handlers
from ingest.jobs.worker import Worker
from tests.factories import auth, make_org, make_token, make_user

CSV = "kommun;år;temperatur\n0180 Stockholm;2015;6,5\n1480 Göteborg;2015;8,1\n".encode("cp1252")
REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "realworld"


@pytest.fixture
def token(session: Session) -> str:
    org = make_org(session, "smhi")
    return make_token(session, make_user(session, "alice", org=org, role=Role.admin))


def upload(
    client: TestClient,
    token: str,
    data: bytes,
    filename: str = "temp.csv",
    dataset: str = "smhi/temp",
) -> str:
    response = client.post(
        "/api/v1/uploads/form",
        headers=auth(token),
        files={"file": (filename, data)},
        data={"dataset": dataset},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ingest(
    client: TestClient, token: str, upload_id: str, dataset: str = "smhi/temp", **spec: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/ingest",
        headers=auth(token),
        json={"upload_ids": [upload_id], "dataset": dataset, **spec},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def drain(app: FastAPI, store: ObjectStore | None = None) -> None:
    worker = Worker(
        factory=app.state.session_factory, store=store or app.state.store, handlers=handlers()
    )
    while worker.run_once():
        pass


def job(client: TestClient, token: str, job_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/jobs/{job_id}", headers=auth(token)).json())


def test_csv_becomes_a_published_version(app: FastAPI, client: TestClient, token: str) -> None:
    queued = ingest(
        client,
        token,
        upload(client, token, CSV),
        licence="CC-BY-4.0",
        title="Temperatur per kommun",
        visibility="public",
        tags=["väder"],
    )
    assert queued["state"] == "queued"
    drain(app)
    done = job(client, token, queued["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["version"] == 1
    assert done["result"]["tables"] == [{"name": "temp", "rows": 2, "columns": 3}]
    assert done["progress"] == 1.0 and any("published" in ln["message"] for ln in done["log"])

    dataset = client.get("/api/v1/datasets/smhi/temp").json()
    assert dataset["title"] == "Temperatur per kommun"
    assert dataset["licence"]["id"] == "CC-BY-4.0"
    assert dataset["latest_version"]["number"] == 1
    version = client.get("/api/v1/datasets/smhi/temp/versions/1").json()
    files = {f["key"]: f for f in version["files"]}
    assert set(files) == {"original/temp.csv", "data/part-0.parquet"}
    assert files["data/part-0.parquet"]["row_count"] == 2
    assert files["original/temp.csv"]["size"] == len(CSV)
    schema = files["data/part-0.parquet"]["arrow_schema"]
    assert [c["name"] for c in schema["columns"]] == ["kommun", "år", "temperatur"]

    # The Parquet object really holds the data, Swedish characters and decimal commas intact.
    store = app.state.store
    parquet = b"".join(store.get("datasets/smhi/temp/v1/data/part-0.parquet"))
    table = duckdb.sql(
        "SELECT * FROM read_parquet($p) ORDER BY 1", params={"p": _tmp_file(parquet)}
    ).fetchall()
    assert table[1][0] == "1480 Göteborg" and table[1][2] == pytest.approx(8.1)
    # Searchable by the file format of its published version.
    found = client.get("/api/v1/datasets", params={"format": "parquet"}).json()
    assert [d["name"] for d in found["data"]] == ["temp"]


def _tmp_file(data: bytes) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
    handle.write(data)
    handle.close()
    return handle.name


def test_rerun_uses_the_stored_spec_and_reports_schema_changes(
    app: FastAPI,
    client: TestClient,
    token: str,
) -> None:
    ingest(client, token, upload(client, token, CSV), licence="CC0-1.0", visibility="public")
    drain(app)
    assert client.get("/api/v1/datasets/smhi/temp/pipeline").json()["licence"] == "CC0-1.0"
    # Next month: same columns, only the upload and the dataset named.
    second = ingest(client, token, upload(client, token, CSV))
    drain(app)
    assert job(client, token, second["id"])["result"]["version"] == 2
    # A new column is refused unless accepted, and the version is rejected.
    wider = "kommun;år;temperatur;nederbörd\n0180 Stockholm;2015;6,5;539\n".encode()
    third = ingest(client, token, upload(client, token, wider))
    drain(app)
    failed = job(client, token, third["id"])
    assert failed["state"] == "failed"
    assert failed["error"]["problem"] == "schema-changed"
    assert "added nederbörd" in failed["error"]["message"]
    rejected = client.get("/api/v1/datasets/smhi/temp/versions/3", headers=auth(token)).json()
    assert rejected["state"] == "rejected" and "nederbörd" in rejected["state_reason"]
    assert client.get("/api/v1/datasets/smhi/temp").json()["latest_version"]["number"] == 2
    fourth = ingest(client, token, upload(client, token, wider), accept_schema_change=True)
    drain(app)
    accepted = job(client, token, fourth["id"])
    assert accepted["result"]["version"] == 4
    assert accepted["result"]["schema_change"]["added"] == ["nederbörd"]


def _zip(members: dict[str, bytes], *, level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bomb() -> bytes:
    """A small zip that expands a thousandfold (zeros compress that well)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.csv", "w", force_zip64=True) as member:
            block = b"0" * (1 << 20)
            for _ in range(300):
                member.write(block)
    return buffer.getvalue()


BAD_FILES = [
    ("empty", lambda: b"", "empty.csv", {}, "empty-file"),
    ("binary", lambda: b"\x00\x01\x02\xff" * 100, "binary.csv", {}, "binary-content"),
    ("truncated gzip", lambda: gzip.compress(CSV * 500)[:-40], "cut.csv.gz", {}, "truncated-gzip"),
    (
        "ragged rows",
        lambda: b"a;b;c\n" + b"1;2;3\n" * 50 + b"1;2\n" * 50,
        "ragged.csv",
        {},
        "ragged-rows",
    ),
    (
        "invalid utf-8 declared",
        lambda: "namn;ort\nÅsa;Borås\n".encode("latin-1") * 20,
        "l1.csv",
        {"encoding": "utf-8"},
        "invalid-encoding",
    ),
    (
        "50,000 columns",
        lambda: (";".join(f"c{i}" for i in range(50_000)) + "\n").encode() * 2,
        "wide.csv",
        {},
        "too-many-columns",
    ),
    ("10 MB line", lambda: b"a;b\n1;" + b"x" * (10 << 20) + b"\n", "long.csv", {}, "line-too-long"),
    ("zip bomb", _bomb, "bomb.zip", {}, "decompression-bomb"),
    (
        "path traversal in a zip",
        lambda: _zip({"../../etc/passwd": b"a;b\n1;2\n"}),
        "evil.zip",
        {},
        "unsafe-path",
    ),
    (
        "absolute path in a zip",
        lambda: _zip({"/etc/passwd": b"a;b\n1;2\n"}),
        "abs.zip",
        {},
        "unsafe-path",
    ),
]


@pytest.mark.parametrize(
    ("case", "data", "filename", "options", "problem"), BAD_FILES, ids=[c[0] for c in BAD_FILES]
)
def test_bad_files_fail_with_nothing_published(
    app: FastAPI,
    client: TestClient,
    token: str,
    session: Session,
    case: str,
    data: Callable[[], bytes],
    filename: str,
    options: dict[str, Any],
    problem: str,
) -> None:
    queued = ingest(
        client,
        token,
        upload(client, token, data(), filename),
        licence="CC0-1.0",
        format_options=options,
    )
    drain(app)
    failed = job(client, token, queued["id"])
    assert failed["state"] == "failed", failed
    assert failed["error"]["problem"] == problem, failed["error"]
    assert failed["error"]["message"]
    session.expire_all()
    states = session.scalars(select(DatasetVersion.state)).all()
    assert [s.value for s in states] == ["rejected"]
    assert (
        client.get("/api/v1/datasets/smhi/temp", headers=auth(token)).json()["latest_version"]
        is None
    )


def test_licence_is_required_and_checked_at_submission(
    client: TestClient,
    token: str,
) -> None:
    upload_id = upload(client, token, CSV)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "licence"),
        ({"licence": "NOT-SPDX"}, 404, "licence"),
        ({"licence": "MIT", "format_options": {"delimiter": ";;"}}, 422, "format_options"),
        ({"licence": "MIT", "format_options": {"limits": {}}}, 422, "format_options.limits"),
    ]
    for spec, status, field in cases:
        response = client.post(
            "/api/v1/ingest",
            headers=auth(token),
            json={"upload_ids": [upload_id], "dataset": "smhi/temp", **spec},
        )
        assert response.status_code == status, response.text
        assert response.json()["error"]["details"][0]["field"] == field
    other = client.post(
        "/api/v1/ingest",
        headers=auth(token),
        json={"upload_ids": [upload_id], "dataset": "smhi/other", "licence": "MIT"},
    )
    assert other.status_code == 422


class _FailingStore:
    """The object store going away while Parquet objects are written (first attempt only)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.failures = 0

    def put(self, key: str, data: BinaryIO | Iterable[bytes], **kwargs: Any) -> ObjectInfo:
        if key.endswith(".parquet") and self.failures == 0:
            self.failures += 1
            raise ConnectionError("object store unreachable")
        return self.inner.put(key, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_retried_job_continues_its_version(
    app: FastAPI,
    client: TestClient,
    token: str,
    session: Session,
) -> None:
    queued = ingest(client, token, upload(client, token, CSV), licence="CC0-1.0")
    store = _FailingStore(app.state.store)
    worker = Worker(
        factory=app.state.session_factory,
        store=store,
        handlers=handlers(),
        retry_delay=__import__("datetime").timedelta(0),
    )
    assert worker.run_once()
    assert job(client, token, queued["id"])["state"] == "queued"  # waiting for its retry
    assert worker.run_once()
    done = job(client, token, queued["id"])
    assert (done["state"], done["attempts"], done["result"]["version"]) == ("succeeded", 2, 1)
    session.expire_all()
    assert session.scalar(select(func.count(DatasetVersion.id))) == 1


def test_a_real_world_file_through_the_pipeline(
    app: FastAPI, client: TestClient, token: str
) -> None:
    assert REALWORLD.is_dir(), f"the real-world files are missing: {REALWORLD}"
    data = (REALWORLD / "scb_pxweb_elproduktion_kommun_2009-2013_latin1.csv").read_bytes()
    queued = ingest(
        client,
        token,
        upload(client, token, data, "elproduktion.csv", "smhi/elproduktion"),
        dataset="smhi/elproduktion",
        licence="CC0-1.0",
    )
    drain(app)
    done = job(client, token, queued["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["tables"][0]["rows"] == 9984
    assert done["result"]["tables"][0]["columns"] == 8


def test_opaque_files_are_published_as_they_are(
    app: FastAPI, client: TestClient, token: str
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    queued = ingest(
        client,
        token,
        upload(client, token, png, "bild.png", "smhi/bilder"),
        dataset="smhi/bilder",
        licence="CC0-1.0",
        visibility="public",
    )
    drain(app)
    assert job(client, token, queued["id"])["state"] == "succeeded"
    files = client.get("/api/v1/datasets/smhi/bilder/versions/1").json()["files"]
    assert [(f["key"], f["media_type"], f["size"]) for f in files] == [
        ("original/bild.png", "image/png", len(png))
    ]
    assert io.BytesIO(png).getvalue() == b"".join(
        app.state.store.get("datasets/smhi/bilder/v1/original/bild.png")
    )


def test_several_files_make_one_version(app: FastAPI, client: TestClient, token: str) -> None:
    first = upload(client, token, CSV, "2015.csv")
    second = upload(client, token, CSV.replace(b"2015", b"2016"), "2016.csv")
    response = client.post(
        "/api/v1/ingest",
        headers=auth(token),
        json={"upload_ids": [first, second], "dataset": "smhi/temp", "licence": "CC0-1.0"},
    )
    assert response.status_code == 202, response.text
    drain(app)
    done = job(client, token, response.json()["id"])
    assert done["state"] == "succeeded", done
    keys = [
        f["key"]
        for f in client.get("/api/v1/datasets/smhi/temp/versions/1", headers=auth(token)).json()[
            "files"
        ]
    ]
    assert keys == [
        "data/000-2015.parquet",
        "data/001-2016.parquet",
        "original/2015.csv",
        "original/2016.csv",
    ]
    # Published uploads are removed from staging; one file cannot be given twice.
    assert client.get(f"/api/v1/uploads/{first}", headers=auth(token)).status_code == 404
    third = upload(client, token, CSV, "2017.csv")
    again = client.post(
        "/api/v1/ingest",
        headers=auth(token),
        json={"upload_ids": [third, third], "dataset": "smhi/temp"},
    )
    assert again.status_code == 422
    assert again.json()["error"]["details"][0]["field"] == "upload_ids"


def test_rejected_versions_objects_are_purged_after_retention(
    app: FastAPI,
    client: TestClient,
    token: str,
    session: Session,
) -> None:
    from datetime import timedelta

    from catalog.models import utcnow
    from datahamn.worker import housekeeping

    store = app.state.store
    ingest(client, token, upload(client, token, CSV), licence="CC0-1.0")
    drain(app)
    wider = "kommun;år;temperatur;nederbörd\n0180 Stockholm;2015;6,5;539\n".encode()
    bad = ingest(client, token, upload(client, token, wider))  # schema change, not accepted
    drain(app)
    assert job(client, token, bad["id"])["state"] == "failed"
    assert list(store.list("datasets/smhi/temp/v2/")), "a rejected version keeps its objects"
    housekeeping(app.state.session_factory, store, rejected_retention=timedelta(hours=1))
    assert list(store.list("datasets/smhi/temp/v2/")), "kept during the retention"
    housekeeping(app.state.session_factory, store, rejected_retention=timedelta(0))
    assert list(store.list("datasets/smhi/temp/v2/")) == []
    assert list(store.list("datasets/smhi/temp/v1/")), "published objects are never touched"
    session.expire_all()
    rejected = session.scalars(select(DatasetVersion).where(DatasetVersion.number == 2)).one()
    assert rejected.state.value == "rejected" and rejected.objects_purged_at is not None
    assert rejected.objects_purged_at <= utcnow()


class _Tampering:
    """The worker's store; once the job has written its Parquet object, something else
    deletes or replaces it (``how``) before publishing checks it. Counts reads."""

    def __init__(self, inner: ObjectStore, how: str) -> None:
        self.inner, self.how = inner, how
        self.read: list[str] = []

    def put(self, key: str, data: BinaryIO | Iterable[bytes], **kwargs: Any) -> ObjectInfo:
        info = self.inner.put(key, data, **kwargs)
        if key.endswith(".parquet"):
            other = b"not the Parquet file"
            if self.how == "deleted":
                self.inner.delete(key)
            elif self.how == "replaced":  # as through a signed URL: no sha256 recorded
                self.inner.put(key, [other])
            elif self.how == "rewritten":  # by a writer that recorded its own sha256
                self.inner.put(key, [other], sha256=hashlib.sha256(other).hexdigest())
        return info

    def get(self, key: str, **kwargs: Any) -> Iterable[bytes]:
        self.read.append(key)
        return self.inner.get(key, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("how", ["intact", "deleted", "replaced", "rewritten"])
def test_publishing_checks_each_written_object(
    app: FastAPI, client: TestClient, token: str, session: Session, how: str
) -> None:
    queued = ingest(client, token, upload(client, token, CSV), licence="CC0-1.0")
    store = _Tampering(app.state.store, how)
    drain(app, store)  # type: ignore[arg-type]
    done = job(client, token, queued["id"])
    latest = client.get("/api/v1/datasets/smhi/temp", headers=auth(token)).json()
    session.expire_all()
    version = session.scalars(select(DatasetVersion)).one()
    if how == "intact":
        assert done["state"] == "succeeded", done
        assert version.state.value == "published"
        # The job's own objects are checked with a HEAD each, never read back.
        assert [key for key in store.read if key.startswith("datasets/")] == []
        return
    assert done["state"] == "failed", done
    reason = "is missing" if how == "deleted" else "changed since it was recorded"
    assert reason in done["error"]["message"]
    assert (version.state.value, latest["latest_version"]) == ("rejected", None)
    if how == "replaced":
        # Nothing vouches for the replacement's bytes, so they were read to check them.
        assert "datasets/smhi/temp/v1/data/part-0.parquet" in store.read
