"""Resumable uploads, protocol level: every tus header rule, through the app (TestClient)
on both database engines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalog.models import utcnow
from catalog.storage.base import ObjectStore
from ingest.uploads import open_upload
from tests.ingest import test_uploads_support as support
from tests.ingest.test_uploads_support import (
    STREAM,
    UPLOADS,
    assert_error,
    auth_only,
    b64,
    chunk_keys,
    create,
    metadata,
    patch,
)

# The shared fixtures, registered in this module by name.
people, alice, store = support.people, support.alice, support.store

# -- the protocol ------------------------------------------------------------------------------


def test_options_describes_the_server(client: TestClient) -> None:
    response = client.options(UPLOADS)  # tus: no Tus-Resumable needed here
    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    extensions = set(response.headers["tus-extension"].split(","))
    assert {"creation", "termination", "expiration", "checksum"} <= extensions
    assert response.headers["tus-max-size"] == str(10 * 1024**3)
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


def test_create_patch_head_and_get(
    client: TestClient, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    meta = metadata(content_type="text/csv")
    response = client.post(
        UPLOADS, headers={**alice, "Upload-Length": "10", "Upload-Metadata": meta}
    )
    assert response.status_code == 201
    url = response.headers["location"]
    assert url.startswith("/api/v1/uploads/") and len(url.rsplit("/", 1)[1]) == 32
    expires = parsedate_to_datetime(response.headers["upload-expires"])
    assert timedelta(hours=23) < expires - utcnow() <= timedelta(hours=24)

    head = client.head(url, headers=alice)
    assert head.status_code == 200
    assert (head.headers["upload-offset"], head.headers["upload-length"]) == ("0", "10")
    assert head.headers["upload-metadata"] == meta
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"

    first = patch(client, url, alice, 0, b"ort;t\n")
    assert first.status_code == 204
    assert first.headers["upload-offset"] == "6"
    assert "upload-expires" in first.headers
    assert client.head(url, headers=alice).headers["upload-offset"] == "6"
    assert patch(client, url, alice, 6, b"a;1\n").headers["upload-offset"] == "10"

    status = client.get(url, headers=alice).json()
    assert status["complete"] is True and status["state"] == "complete"
    assert status["sha256"] == hashlib.sha256(b"ort;t\na;1\n").hexdigest()
    assert (status["filename"], status["dataset"], status["content_type"]) == (
        "temp.csv",
        "smhi/temp",
        "text/csv",
    )
    assert (status["length"], status["offset"]) == (10, 10)
    assert len(chunk_keys(store, url)) == 2
    with open_upload(session, store, status["id"]) as stream:
        assert stream.read() == b"ort;t\na;1\n"
    # An empty PATCH at the end is harmless; a byte more is not.
    assert patch(client, url, alice, 10, b"").status_code == 204
    assert_error(patch(client, url, alice, 10, b"x"), 413, "payload-too-large")


def test_the_tus_version_is_checked(client: TestClient, alice: dict[str, str]) -> None:
    url = create(client, alice)
    for version in (None, "0.2.2"):
        headers = {**alice, "Tus-Resumable": version} if version else auth_only(alice)
        for response in (
            client.post(
                UPLOADS, headers={**headers, "Upload-Length": "1", "Upload-Metadata": metadata()}
            ),
            patch(client, url, headers, 0, b"x"),
            client.delete(url, headers=headers),
        ):
            assert_error(response, 412, "unsupported-version", "Tus-Resumable")
            assert response.headers["tus-version"] == "1.0.0"
        head = client.head(url, headers=headers)
        assert head.status_code == 412 and "upload-offset" not in head.headers
    assert client.head(url, headers=alice).headers["upload-offset"] == "0"


def test_a_wrong_offset_is_a_conflict(
    client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    url = create(client, alice)
    assert patch(client, url, alice, 0, b"abc").status_code == 204
    for offset in (0, 2, 4):
        assert_error(patch(client, url, alice, offset, b"def"), 409, "conflict", "Upload-Offset")
    assert client.head(url, headers=alice).headers["upload-offset"] == "3"
    assert len(chunk_keys(store, url)) == 1


def test_bytes_beyond_the_length_are_refused(
    client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    url = create(client, alice, length=10)
    assert patch(client, url, alice, 0, b"12345").status_code == 204
    # With a Content-Length, refused before a byte is read.
    assert_error(patch(client, url, alice, 5, b"678901"), 413, "payload-too-large")

    # Chunked (no Content-Length): refused when the sixth byte arrives; the five before it
    # are not kept either, a refused request changes nothing.
    def body() -> Iterator[bytes]:
        yield b"678"
        yield b"901"

    response = client.patch(url, headers={**alice, **STREAM, "Upload-Offset": "5"}, content=body())
    assert_error(response, 413, "payload-too-large", "body")
    assert client.head(url, headers=alice).headers["upload-offset"] == "5"
    assert len(chunk_keys(store, url)) == 1
    assert patch(client, url, alice, 5, b"67890").status_code == 204


def test_patch_headers_are_checked(client: TestClient, alice: dict[str, str]) -> None:
    url = create(client, alice)
    response = client.patch(
        url, headers={**alice, "Upload-Offset": "0", "Content-Type": "text/plain"}, content=b"x"
    )
    assert_error(response, 415, "unsupported-media-type", "Content-Type")
    response = client.patch(url, headers={**alice, **STREAM}, content=b"x")
    assert_error(response, 400, "bad-request", "Upload-Offset")
    for bad in ("-1", "1.5", "abc", "9" * 20):
        assert_error(
            patch(client, url, alice, 0, b"x", **{"Upload-Offset": bad}),
            400,
            "bad-request",
            "Upload-Offset",
        )


def test_checksums(client: TestClient, alice: dict[str, str], store: ObjectStore) -> None:
    url = create(client, alice, length=9)

    def checksum(algorithm: str, data: bytes) -> str:
        return f"{algorithm} {b64(hashlib.new(algorithm, data).digest())}"

    ok = patch(client, url, alice, 0, b"abc", **{"Upload-Checksum": checksum("sha1", b"abc")})
    assert ok.status_code == 204
    bad = patch(client, url, alice, 3, b"def", **{"Upload-Checksum": checksum("sha256", b"xyz")})
    assert_error(bad, 460, "checksum-mismatch", "Upload-Checksum")
    assert client.head(url, headers=alice).headers["upload-offset"] == "3"
    assert len(chunk_keys(store, url)) == 1  # the mismatching chunk is gone
    for header in ("md5 kAFQmDzST7DWlj99KOF/cg==", "sha256 notbase64!", "sha1 " + b64(b"short")):
        assert_error(
            patch(client, url, alice, 3, b"def", **{"Upload-Checksum": header}),
            400,
            "bad-request",
            "Upload-Checksum",
        )
    good = patch(client, url, alice, 3, b"def", **{"Upload-Checksum": checksum("sha256", b"def")})
    assert good.headers["upload-offset"] == "6"


def test_the_whole_file_sha256_is_checked_at_the_end(
    client: TestClient, alice: dict[str, str]
) -> None:
    good = create(client, alice, length=3, meta=metadata(sha256=hashlib.sha256(b"abc").hexdigest()))
    assert patch(client, good, alice, 0, b"abc").status_code == 204
    assert client.get(good, headers=alice).json()["complete"] is True

    bad = create(client, alice, length=3, meta=metadata(sha256="0" * 64))
    assert_error(patch(client, bad, alice, 0, b"abc"), 460, "checksum-mismatch")
    status = client.get(bad, headers=alice).json()
    assert status["state"] == "failed" and status["sha256"] is None
    assert "0" * 64 in status["error"]
    assert_error(patch(client, bad, alice, 3, b""), 409, "conflict")


def test_termination_deletes_the_bytes(
    client: TestClient, alice: dict[str, str], store: ObjectStore
) -> None:
    url = create(client, alice)
    assert patch(client, url, alice, 0, b"abc").status_code == 204
    assert chunk_keys(store, url)
    response = client.delete(url, headers=alice)
    assert response.status_code == 204 and response.headers["tus-resumable"] == "1.0.0"
    assert chunk_keys(store, url) == []
    assert client.head(url, headers=alice).status_code == 404
    assert_error(patch(client, url, alice, 3, b"def"), 404, "not-found")
    assert_error(client.delete(url, headers=alice), 404, "not-found")


def test_method_override(client: TestClient, alice: dict[str, str]) -> None:
    url = create(client, alice)
    response = client.post(
        url,
        headers={**alice, **STREAM, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
        content=b"abc",
    )
    assert response.status_code == 204 and response.headers["upload-offset"] == "3"
    assert_error(client.post(url, headers=alice), 400, "bad-request", "X-HTTP-Method-Override")
    response = client.post(url, headers={**alice, "X-HTTP-Method-Override": "DELETE"})
    assert response.status_code == 204
    assert client.head(url, headers=alice).status_code == 404


def test_deferred_length(client: TestClient, alice: dict[str, str]) -> None:
    url = create(client, alice, length=None, **{"Upload-Defer-Length": "1"})
    head = client.head(url, headers=alice)
    assert head.headers["upload-defer-length"] == "1" and "upload-length" not in head.headers
    assert patch(client, url, alice, 0, b"abc").status_code == 204
    assert_error(
        patch(client, url, alice, 3, b"d", **{"Upload-Length": "2"}),
        400,
        "bad-request",
        "Upload-Length",
    )
    assert patch(client, url, alice, 3, b"de", **{"Upload-Length": "5"}).status_code == 204
    assert client.head(url, headers=alice).headers["upload-length"] == "5"
    assert client.get(url, headers=alice).json()["complete"] is True
    assert_error(
        patch(client, url, alice, 5, b"", **{"Upload-Length": "6"}),
        400,
        "bad-request",
        "Upload-Length",
    )


def test_creation_with_upload_and_empty_uploads(
    client: TestClient, alice: dict[str, str], session: Session, store: ObjectStore
) -> None:
    response = client.post(
        UPLOADS,
        headers={**alice, **STREAM, "Upload-Length": "5", "Upload-Metadata": metadata()},
        content=b"abc",
    )
    assert response.status_code == 201 and response.headers["upload-offset"] == "3"
    empty = create(client, alice, length=0)
    status = client.get(empty, headers=alice).json()
    assert status["complete"] is True and status["sha256"] == hashlib.sha256(b"").hexdigest()
    with open_upload(session, store, status["id"]) as stream:
        assert stream.read() == b""


# (headers, status, the field the error names); one test, so the fixtures are made once.
