"""Resumable uploads, service level: what happens to the bytes when a body breaks off, when
two requests race, when stored bytes are damaged; and the server's idle timeout."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from catalog.errors import Conflict, NotFound
from catalog.principal import Principal
from catalog.settings import Settings
from catalog.storage import LocalStore
from catalog.users import principal_for_user
from ingest.uploads import UploadState, bridge, open_upload
from ingest.uploads.errors import ChecksumMismatch
from ingest.uploads.metadata import UploadTarget
from ingest.uploads.models import Upload
from ingest.uploads.service import append, create_upload, get_upload, terminate
from ingest.uploads.staging import BodyInterrupted, Checksum, chunk_prefix
from tests.factories import make_org, make_token, make_user
from tests.ingest.test_uploads_tuspy import serving

TARGET = UploadTarget(organisation="smhi", dataset="temp", filename="t.csv")


@pytest.fixture
def alice(session: Session) -> Principal:
    user = make_user(session, "alice", org=make_org(session, "smhi"))
    return principal_for_user(session, user)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store", base_url="http://testserver", secret_key="k")


def new_upload(session: Session, alice: Principal, settings: Settings, length: int) -> Upload:
    return create_upload(session, principal=alice, settings=settings, target=TARGET, length=length)


def broken_body(*pieces: bytes) -> Iterator[bytes]:
    """A body that breaks off after ``pieces``, as a dropped connection does."""
    yield from pieces
    raise BodyInterrupted("the client disconnected")


def keys(store: LocalStore, upload: Upload) -> list[str]:
    return [info.key for info in store.list(chunk_prefix(upload.id))]


def test_an_interrupted_body_keeps_exactly_what_arrived(
    session: Session, alice: Principal, settings: Settings, store: LocalStore
) -> None:
    upload = new_upload(session, alice, settings, 10)
    kept = append(
        session, store, upload=upload, offset=0, body=broken_body(b"abc", b"de"), settings=settings
    )
    assert kept.offset == 5 and len(keys(store, upload)) == 1
    # Broken off before its first byte: nothing stored, nothing changed.
    append(session, store, upload=upload, offset=5, body=broken_body(), settings=settings)
    assert upload.offset == 5 and len(keys(store, upload)) == 1
    append(session, store, upload=upload, offset=5, body=[b"fghij"], settings=settings)
    assert upload.state is UploadState.complete
    with open_upload(session, store, upload.id) as stream:
        assert stream.read() == b"abcdefghij"


def test_an_interrupted_body_with_a_checksum_is_discarded(
    session: Session, alice: Principal, settings: Settings, store: LocalStore
) -> None:
    upload = new_upload(session, alice, settings, 10)
    checksum = Checksum("sha1", hashlib.sha1(b"abcde").digest())
    append(
        session,
        store,
        upload=upload,
        offset=0,
        body=broken_body(b"abc"),
        settings=settings,
        checksum=checksum,
    )
    assert upload.offset == 0 and keys(store, upload) == []
    assert list(store.list("")) == []  # not even a temporary file is left


def test_a_racing_patch_loses_and_leaves_nothing(
    session: Session, alice: Principal, settings: Settings, store: LocalStore
) -> None:
    upload = new_upload(session, alice, settings, 6)
    # Another request read the upload at offset 0 and wrote first.
    with Session(session.get_bind()) as other:
        stale = other.get_one(Upload, upload.id)
        append(session, store, upload=upload, offset=0, body=[b"abc"], settings=settings)
        with pytest.raises(Conflict, match="another request"):
            append(other, store, upload=stale, offset=0, body=[b"xyz"], settings=settings)
    assert len(keys(store, upload)) == 1
    session.refresh(upload)
    assert upload.offset == 3

    # Terminated while its body streamed in: the chunk is deleted, the answer a 404.
    def body_then_terminate() -> Iterator[bytes]:
        yield b"def"
        with Session(session.get_bind(), expire_on_commit=False) as third:
            terminate(third, store, upload=third.get_one(Upload, upload.id))

    with pytest.raises(NotFound, match="terminated"):
        append(
            session, store, upload=upload, offset=3, body=body_then_terminate(), settings=settings
        )
    assert list(store.list("staging/")) == []


def test_damaged_bytes_fail_the_upload(
    session: Session, alice: Principal, settings: Settings, store: LocalStore
) -> None:
    upload = new_upload(session, alice, settings, 6)
    append(session, store, upload=upload, offset=0, body=[b"abc"], settings=settings)
    store.put(keys(store, upload)[0], b"abX")  # bit rot, or someone else's write
    with pytest.raises(ChecksumMismatch, match="damaged"):
        append(session, store, upload=upload, offset=3, body=[b"def"], settings=settings)
    failed = get_upload(session, upload.id)
    assert failed.state is UploadState.failed and failed.sha256 is None
    with pytest.raises(Conflict, match="failed"):
        open_upload(session, store, upload.id)


def test_a_silent_client_times_out_and_keeps_its_bytes(
    app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge, "IDLE_TIMEOUT", 0.5)
    user = make_user(session, "alice", org=make_org(session, "smhi"))
    token = make_token(session, user)
    principal = principal_for_user(session, user)
    upload = new_upload(session, principal, app.state.settings, 100)
    with (
        serving(app) as base,
        socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as conn,
    ):
        conn.sendall(
            (
                f"PATCH /api/v1/uploads/{upload.id} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
                "Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                "Content-Length: 100\r\n\r\n"
            ).encode()
            + b"x" * 40
        )
        conn.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 204"), answer
    assert b"upload-offset: 40\r\n" in answer.lower()


def test_checksum_header_parsing() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert Checksum.parse(f"sha256 {base64.b64encode(digest).decode()}").digest == digest
