"""Resumable uploads: bad input (headers, metadata, file names), who may do what, the form
upload, and expiry; through the app (TestClient) on both database engines."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.models import utcnow
from catalog.storage.base import ObjectStore
from ingest.uploads import Upload, UploadState, expire_uploads, get_upload, open_upload
from tests.ingest import test_uploads_support as support
from tests.ingest.test_uploads_support import (
    NOT_UTF8,
    UPLOADS,
    assert_error,
    auth_only,
    b64,
    chunk_keys,
    create,
    metadata,
    patch,
    upload_id,
)

# The shared fixtures, registered in this module by name.
people, alice, store = support.people, support.alice, support.store

BAD_CREATIONS: list[tuple[dict[str, str], int, str]] = [
    ({}, 400, "Upload-Length"),
    ({"Upload-Length": "5", "Upload-Defer-Length": "1"}, 400, "Upload-Defer-Length"),
    ({"Upload-Defer-Length": "2"}, 400, "Upload-Defer-Length"),
    ({"Upload-Length": "x"}, 400, "Upload-Length"),
    ({"Upload-Metadata": f"filename,dataset {b64('smhi/temp')}"}, 422, "Upload-Metadata.filename"),
    ({"Upload-Metadata": "filename !!!,dataset c21oaS90"}, 400, "Upload-Metadata.filename"),
    ({"Upload-Metadata": f"filename {NOT_UTF8}"}, 400, "Upload-Metadata.filename"),
    ({"Upload-Metadata": metadata() + ",filename YQ=="}, 400, "Upload-Metadata"),
    ({"Upload-Metadata": metadata() + ",,"}, 400, "Upload-Metadata"),
    ({"Upload-Metadata": "x" * 5000}, 400, "Upload-Metadata"),
    ({"Upload-Metadata": f"dataset {b64('smhi/temp')}"}, 422, "Upload-Metadata.filename"),
    ({"Upload-Metadata": f"filename {b64('a.csv')}"}, 422, "Upload-Metadata.dataset"),
    ({"Upload-Metadata": metadata(dataset="smhi")}, 422, "Upload-Metadata.dataset"),
    ({"Upload-Metadata": metadata(dataset="../x/y")}, 422, "Upload-Metadata.dataset"),
    ({"Upload-Metadata": metadata(sha256="abc")}, 422, "Upload-Metadata.sha256"),
    ({"Upload-Metadata": metadata(content_type="csv")}, 422, "Upload-Metadata.content_type"),
]
UNSAFE_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "a/b.csv",
    "/etc/passwd",
    "a\\b.csv",
    "nul\x00.csv",
    "tab\t.csv",
    "line\u2028.csv",
    "del\x7f.csv",
    "c1\x85.csv",
    " lead.csv",
    "x" * 256,
    "å" * 128,  # 256 bytes of UTF-8
    "",
]


def test_bad_creation_requests(client: TestClient, alice: dict[str, str]) -> None:
    for headers, status, field in BAD_CREATIONS:
        if "Upload-Metadata" in headers:
            headers = {"Upload-Length": "1", **headers}
        response = client.post(UPLOADS, headers={**alice, **headers})
        code = "bad-request" if status == 400 else "invalid-input"
        assert_error(response, status, code, field)


def test_unsafe_file_names_are_refused(client: TestClient, alice: dict[str, str]) -> None:
    for filename in UNSAFE_NAMES:
        response = client.post(
            UPLOADS,
            headers={**alice, "Upload-Length": "1", "Upload-Metadata": metadata(filename=filename)},
        )
        assert_error(response, 422, "invalid-input", "Upload-Metadata.filename")
    # Names that look odd but are plain names.
    for filename in ("..data.csv", "väder 2024 (v2).csv", "a" * 255, "🌧.csv"):
        assert create(client, alice, meta=metadata(filename=filename))


def test_the_size_limit(client: TestClient, app: FastAPI, alice: dict[str, str]) -> None:
    app.state.settings.upload_max_bytes = 100
    response = client.post(
        UPLOADS, headers={**alice, "Upload-Length": "101", "Upload-Metadata": metadata()}
    )
    assert_error(response, 413, "payload-too-large", "Upload-Length")
    assert client.options(UPLOADS).headers["tus-max-size"] == "100"
    deferred = create(client, alice, length=None, **{"Upload-Defer-Length": "1"})
    assert_error(patch(client, deferred, alice, 0, b"x" * 101), 413, "payload-too-large")
    assert_error(
        patch(client, deferred, alice, 0, b"x", **{"Upload-Length": "101"}),
        413,
        "payload-too-large",
        "Upload-Length",
    )
    assert patch(client, deferred, alice, 0, b"x" * 100).status_code == 204


# -- who may do what -----------------------------------------------------------------------


def test_who_may_create(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    def attempt(who: str, dataset: str = "smhi/temp") -> Response:
        response: Response = client.post(
            UPLOADS,
            headers={
                **people[who],
                "Upload-Length": "1",
                "Upload-Metadata": metadata(dataset=dataset),
            },
        )
        return response

    anonymous = attempt("anonymous")
    assert_error(anonymous, 401, "not-authenticated")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    for who in ("olle", "carol", "pia"):
        assert_error(attempt(who), 403, "permission-denied")
    assert_error(attempt("alice", "nowhere/temp"), 403, "permission-denied")
    assert_error(attempt("root", "nowhere/temp"), 422, "invalid-input", "Upload-Metadata.dataset")
    for who in ("alice", "root"):
        assert attempt(who).status_code == 201
    assert attempt("pia", "scb/xy").status_code == 201


def test_only_the_owner_sees_an_upload(
    client: TestClient, people: dict[str, dict[str, str]]
) -> None:
    url = create(client, people["alice"])
    assert_error(client.get(url, headers=people["anonymous"]), 401, "not-authenticated")
    for who in ("bob", "carol", "olle", "pia"):
        headers = people[who]
        assert client.head(url, headers=headers).status_code == 404
        assert_error(client.get(url, headers=headers), 404, "not-found")
        assert_error(patch(client, url, headers, 0, b"x"), 404, "not-found")
        assert_error(client.delete(url, headers=headers), 404, "not-found")
    assert client.get(f"{UPLOADS}/{'f' * 32}", headers=people["alice"]).status_code == 404
    assert client.get(f"{UPLOADS}/../../etc", headers=people["alice"]).status_code == 404
    assert client.head(url, headers=people["root"]).status_code == 200
    assert patch(client, url, people["alice"], 0, b"x").status_code == 204


def test_listing_shows_only_ones_own(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    mine = create(client, people["alice"])
    create(client, people["bob"])
    listing = client.get(UPLOADS, headers=people["alice"]).json()
    assert [u["url"] for u in listing["data"]] == [mine] and listing["count"] == 1
    assert client.get(UPLOADS, headers=people["olle"]).json()["count"] == 0
    assert_error(client.get(UPLOADS, headers=people["anonymous"]), 401, "not-authenticated")


# -- the form ------------------------------------------------------------------------------


def test_form_upload(
    client: TestClient, app: FastAPI, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    headers = auth_only(alice)
    data = "ort;temp\nBorås;-3,2\n".encode()
    response = client.post(
        f"{UPLOADS}/form",
        headers=headers,
        data={"dataset": "smhi/temp"},
        files={"file": ("temp.csv", data, "text/csv")},
    )
    assert response.status_code == 201, response.text
    status = response.json()
    assert response.headers["location"] == status["url"]
    assert (status["complete"], status["length"], status["content_type"]) == (
        True,
        len(data),
        "text/csv",
    )
    assert status["sha256"] == hashlib.sha256(data).hexdigest()
    with open_upload(session, store, status["id"]) as stream:
        assert stream.read() == data

    def form(**fields: str) -> Response:
        response: Response = client.post(
            f"{UPLOADS}/form", headers=headers, data=fields, files={"file": ("x.csv", b"abc")}
        )
        return response

    assert_error(form(), 422, "invalid-input", "dataset")
    assert_error(form(dataset="smhi"), 422, "invalid-input", "dataset")
    assert_error(form(dataset="smhi/temp", filename="../x"), 422, "invalid-input", "filename")
    assert_error(form(dataset="smhi/temp", sha256="0" * 64), 460, "checksum-mismatch")
    assert_error(
        client.post(f"{UPLOADS}/form", headers=headers, data={"dataset": "smhi/temp"}),
        422,
        "invalid-input",
        "file",
    )
    traversal = client.post(
        f"{UPLOADS}/form",
        headers=headers,
        data={"dataset": "smhi/temp"},
        files={"file": ("../../etc/passwd", b"root")},
    )
    assert_error(traversal, 422, "invalid-input", "file")
    assert_error(
        client.post(
            f"{UPLOADS}/form", data={"dataset": "smhi/temp"}, files={"file": ("x.csv", b"abc")}
        ),
        401,
        "not-authenticated",
    )

    app.state.settings.upload_form_max_bytes = 10
    big = client.post(
        f"{UPLOADS}/form",
        headers=headers,
        data={"dataset": "smhi/temp"},
        files={"file": ("x.csv", b"x" * 11)},
    )
    assert_error(big, 413, "payload-too-large", "file")
    huge = client.post(
        f"{UPLOADS}/form",
        headers=headers,
        data={"dataset": "smhi/temp"},
        files={"file": ("x.csv", b"x" * 100_000)},
    )
    assert_error(huge, 413, "payload-too-large", "file")


# -- expiry --------------------------------------------------------------------------------


def test_expiry(
    client: TestClient, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    abandoned = create(client, alice)
    assert patch(client, abandoned, alice, 0, b"abc").status_code == 204
    complete = create(client, alice, length=3)
    assert patch(client, complete, alice, 0, b"abc").status_code == 204
    now = utcnow()
    assert expire_uploads(session, store, now=now + timedelta(hours=23)) == 0

    # Past its expiry but not swept yet: gone for the client.
    session.execute(update(Upload).where(Upload.id == upload_id(abandoned)).values(expires_at=now))
    session.commit()
    assert_error(client.get(abandoned, headers=alice), 410, "gone")
    assert client.head(abandoned, headers=alice).status_code == 410
    assert_error(patch(client, abandoned, alice, 3, b"def"), 410, "gone")

    assert expire_uploads(session, store, now=now + timedelta(hours=25)) == 1
    assert chunk_keys(store, abandoned) == []
    assert client.get(abandoned, headers=alice).status_code == 404
    assert client.get(complete, headers=alice).json()["complete"] is True
    # A complete upload waits for the pipeline as long as the retention (7 days).
    assert expire_uploads(session, store, now=now + timedelta(hours=7 * 24 - 1)) == 0
    assert expire_uploads(session, store, now=now + timedelta(hours=7 * 24 + 1)) == 1
    assert chunk_keys(store, complete) == []


def test_expiry_sweeps_unrecorded_chunks(
    client: TestClient, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    url = create(client, alice)
    assert patch(client, url, alice, 0, b"abc").status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    # Left behind by a crash between storing a chunk and recording it, and by a deleted row.
    store.put(f"staging/{upload_id}/chunks/00000000000000000003-deadbeef", [b"def"])
    store.put(f"staging/{'e' * 32}/chunks/00000000000000000000-deadbeef", [b"x"])
    store.put("staging/other/keep.txt", [b"not a chunk"])
    now = utcnow()
    assert expire_uploads(session, store, now=now) == 0  # too fresh: maybe a PATCH in flight
    assert len(list(store.list("staging/"))) == 4
    expire_uploads(session, store, now=now + timedelta(hours=2), orphan_grace=timedelta(hours=1))
    assert len(chunk_keys(store, url)) == 1
    assert [i.key for i in store.list("staging/")] == [
        chunk_keys(store, url)[0],
        "staging/other/keep.txt",
    ]
    assert client.head(url, headers=alice).headers["upload-offset"] == "3"


def test_open_upload_is_for_complete_uploads(
    client: TestClient, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    url = create(client, alice, length=6)
    upload_id = url.rsplit("/", 1)[1]
    assert patch(client, url, alice, 0, b"abc").status_code == 204
    with pytest.raises(Exception, match="receiving, not complete"):
        open_upload(session, store, upload_id)
    assert patch(client, url, alice, 3, b"def").status_code == 204
    session.expire_all()
    upload = get_upload(session, upload_id)
    assert isinstance(upload, Upload) and upload.state is UploadState.complete
    with open_upload(session, store, upload_id) as stream:
        assert not stream.seekable()
        assert [stream.read(2), stream.read(3), stream.read()] == [b"ab", b"cde", b"f"]
