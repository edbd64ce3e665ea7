"""Resumable uploads, service level: what happens to the bytes when a body breaks off, when
two requests race, when stored bytes are damaged; and the server's idle timeout."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from catalog.errors import Conflict, NotFound
from catalog.principal import Principal
from catalog.settings import Settings
from catalog.storage import LocalStore, StoreError
from catalog.users import principal_for_user
from ingest.uploads import UploadState, bridge, open_upload
from ingest.uploads.errors import ChecksumMismatch
from ingest.uploads.metadata import UploadTarget
from ingest.uploads.models import Upload
from ingest.uploads.receiving import append
from ingest.uploads.running import RUNNING
from ingest.uploads.service import (
    create_upload,
    get_upload,
    terminate,
    upload_chunks,
)
from ingest.uploads.staging import BodyInterrupted, Checksum, chunk_prefix, verify_chunks
from tests.factories import make_org, make_token, make_user
from tests.ingest.test_uploads_tuspy import serving

ROOT = Path(__file__).resolve().parents[2]
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


class CountingStore(LocalStore):
    """A LocalStore that counts reads of staged chunks (what completion must not do)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, base_url="http://testserver", secret_key="k")
        self.chunk_reads = 0

    def get(
        self, key: str, *, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        if key.startswith("staging/"):
            self.chunk_reads += 1
        return super().get(key, start=start, end=end, chunk_size=chunk_size)


# Another server process (a second replica, or this one after a restart) receiving a PATCH:
# the real append() in a fresh interpreter, on the same database and store.
_OTHER_PROCESS = """
import sys
from pathlib import Path
from catalog.db import make_engine, make_session_factory
from catalog.settings import Settings
from catalog.storage.local import LocalStore
from ingest.uploads.models import Upload
from ingest.uploads.receiving import append

db_url, root, home, upload_id, offset, data = sys.argv[1:]
settings = Settings(
    environment="test", home=Path(home), database_url=db_url,
    storage_url=Path(root).as_uri(), secret_key="test-secret-key", base_url="http://testserver",
)
store = LocalStore(Path(root), base_url="http://testserver", secret_key="k")
with make_session_factory(make_engine(db_url))() as session:
    upload = session.get_one(Upload, upload_id)
    done = append(session, store, upload=upload, offset=int(offset),
                  body=[bytes.fromhex(data)], settings=settings)
    print(done.offset, done.state.value, done.sha256)
"""


def patch_in_another_process(
    settings: Settings, store: LocalStore, upload: Upload, offset: int, data: bytes
) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _OTHER_PROCESS,
            settings.resolved_database_url,
            str(store.root),
            str(settings.home),
            upload.id,
            str(offset),
            data.hex(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    out: str = done.stdout.strip()
    return out


def test_completion_takes_the_running_sha256_without_reading_the_file(
    session: Session, alice: Principal, settings: Settings, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "counted")
    data = bytes(range(256)) * 40
    upload = new_upload(session, alice, settings, len(data))
    first, third = data[:1000], data[3000:4000]
    append(
        session,
        store,
        upload=upload,
        offset=0,
        body=[first],
        settings=settings,
        checksum=Checksum("sha1", hashlib.sha1(first).digest()),
    )
    # Broken off: the part that arrived is kept, and hashed.
    body = broken_body(data[1000:2500], data[2500:3000])
    append(session, store, upload=upload, offset=1000, body=body, settings=settings)
    append(
        session,
        store,
        upload=upload,
        offset=3000,
        body=[third],
        settings=settings,
        checksum=Checksum("sha256", hashlib.sha256(third).digest()),
    )
    done = append(session, store, upload=upload, offset=4000, body=[data[4000:]], settings=settings)
    assert done.state is UploadState.complete
    assert done.sha256 == hashlib.sha256(data).hexdigest()
    assert store.chunk_reads == 0, "completion read the staged chunks again"
    with open_upload(session, store, upload.id) as stream:
        assert stream.read() == data


def test_a_racing_patch_does_not_disturb_the_running_sha256(
    session: Session, alice: Principal, settings: Settings, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "counted")
    upload = new_upload(session, alice, settings, 9)
    append(session, store, upload=upload, offset=0, body=[b"abc"], settings=settings)

    # Two PATCHes continue the hash from offset 3; the one that is recorded second loses.
    def body_overtaken() -> Iterator[bytes]:
        yield b"XY"
        with Session(session.get_bind()) as other:
            winner = other.get_one(Upload, upload.id)
            append(other, store, upload=winner, offset=3, body=[b"def"], settings=settings)
        yield b"Z"

    with pytest.raises(Conflict, match="another request"):
        append(session, store, upload=upload, offset=3, body=body_overtaken(), settings=settings)
    session.refresh(upload)
    done = append(session, store, upload=upload, offset=6, body=[b"ghi"], settings=settings)
    assert done.sha256 == hashlib.sha256(b"abcdefghi").hexdigest()
    assert store.chunk_reads == 0


def test_a_resume_in_another_process_gets_the_right_sha256(
    session: Session, alice: Principal, settings: Settings, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "objects")
    data = random.Random(3).randbytes(30_000)
    whole = hashlib.sha256(data).hexdigest()

    # This process takes the first chunk, another the second, this one the last: its
    # running hash stopped at 10,000, so completion reads the file once instead.
    upload = new_upload(session, alice, settings, len(data))
    append(session, store, upload=upload, offset=0, body=[data[:10_000]], settings=settings)
    answer = patch_in_another_process(settings, store, upload, 10_000, data[10_000:20_000])
    assert answer == "20000 receiving None"
    session.refresh(upload)
    done = append(
        session, store, upload=upload, offset=20_000, body=[data[20_000:]], settings=settings
    )
    assert (done.state, done.sha256) == (UploadState.complete, whole)
    assert store.chunk_reads == 3, "the whole file, read once"

    # The other process takes the last chunk: it has no running hash at all.
    second = new_upload(session, alice, settings, len(data))
    append(session, store, upload=second, offset=0, body=[data[:10_000]], settings=settings)
    middle = [data[10_000:20_000]]
    append(session, store, upload=second, offset=10_000, body=middle, settings=settings)
    answer = patch_in_another_process(settings, store, second, 20_000, data[20_000:])
    assert answer == f"30000 complete {whole}"
    session.expire_all()
    with open_upload(session, store, second.id) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == whole


def test_chunks_read_whole_are_not_read_again_to_verify_them(
    session: Session, alice: Principal, settings: Settings, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "counted")
    upload = new_upload(session, alice, settings, 6)
    append(session, store, upload=upload, offset=0, body=[b"abc"], settings=settings)
    append(session, store, upload=upload, offset=3, body=[b"def"], settings=settings)
    chunks = upload_chunks(session, upload.id)
    with open_upload(session, store, upload.id) as stream:
        assert stream.read(4) == b"abcd"  # the first chunk read whole, the second not
    reads = store.chunk_reads
    verify_chunks(store, chunks)
    assert store.chunk_reads == reads + 1, "only the chunk not read whole is read again"
    verify_chunks(store, chunks)
    assert store.chunk_reads == reads + 1

    other = new_upload(session, alice, settings, 3)
    append(session, store, upload=other, offset=0, body=[b"ghi"], settings=settings)
    store.put(keys(store, other)[0], [b"ghX"])  # damaged before anyone read it
    with pytest.raises(StoreError, match="does not hold the bytes"):
        verify_chunks(store, upload_chunks(session, other.id))


def test_damaged_bytes_are_found_when_read(
    session: Session, alice: Principal, settings: Settings, store: LocalStore
) -> None:
    # Completed by the process that received every byte: the sha256 is of the bytes that
    # arrived, and a chunk damaged since fails whoever reads it (the ingest pipeline).
    upload = new_upload(session, alice, settings, 6)
    append(session, store, upload=upload, offset=0, body=[b"abc"], settings=settings)
    store.put(keys(store, upload)[0], [b"abX"])  # bit rot, or someone else's write
    done = append(session, store, upload=upload, offset=3, body=[b"def"], settings=settings)
    assert done.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    with (
        pytest.raises(StoreError, match="does not hold the bytes"),
        open_upload(session, store, upload.id) as stream,
    ):
        stream.read()

    # Completed after a restart, the process has no running hash: completion reads the
    # chunks and finds the damage.
    second = new_upload(session, alice, settings, 6)
    append(session, store, upload=second, offset=0, body=[b"abc"], settings=settings)
    store.put(keys(store, second)[0], [b"abX"])
    RUNNING.forget(second.id)  # what a restart forgets
    with pytest.raises(ChecksumMismatch, match="damaged"):
        append(session, store, upload=second, offset=3, body=[b"def"], settings=settings)
    failed = get_upload(session, second.id)
    assert failed.state is UploadState.failed and failed.sha256 is None
    with pytest.raises(Conflict, match="failed"):
        open_upload(session, store, second.id)


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
