"""The objects route that serves LocalStore's signed URLs, driven in-process over ASGI.

The contract suite fetches the same URLs over real HTTP; this file covers the HTTP details:
ranges, HEAD, the error envelope and hostile paths.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from catalog.storage import InvalidKey, LocalStore
from catalog.storage.routes import parse_range, router
from catalog.storage.signing import InvalidSignature, sign, verify
from tests.storage.conftest import SECRET_KEY

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 4  # 1024 bytes
BASE_URL = "http://testserver"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store", base_url=BASE_URL, secret_key=SECRET_KEY)
    store.put("data/blob.bin", [DATA], content_type="text/plain")
    return store


@pytest.fixture
def app(local: LocalStore) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.state.store = local
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def signed_path(key: str, *, method: str = "GET", expires_in: int = 60) -> str:
    """A URL path signed for ``key`` exactly as given, bypassing LocalStore's key checks."""
    expires = int(time.time()) + expires_in
    query = urlencode(
        {"method": method, "expires": expires, "signature": sign(SECRET_KEY, method, key, expires)}
    )
    # Dots percent-encoded, or the client would resolve "../" before the server saw it.
    return f"/objects/{quote(key, safe='/').replace('.', '%2E')}?{query}"


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return dict(body["error"])


# -- GET and HEAD ----------------------------------------------------------------------------


async def test_get_whole_object(client: httpx.AsyncClient, local: LocalStore) -> None:
    response = await client.get(path_of(local.signed_url("data/blob.bin")))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == "1024"
    assert response.headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    assert response.headers["content-type"] == "text/plain", "stored type, no charset added"
    assert response.headers["last-modified"].endswith(" GMT")
    assert "content-range" not in response.headers


@pytest.mark.parametrize(
    ("range_header", "content_range", "expected"),
    [
        ("bytes=0-0", "bytes 0-0/1024", DATA[:1]),
        ("bytes=10-19", "bytes 10-19/1024", DATA[10:20]),
        ("bytes=1000-", "bytes 1000-1023/1024", DATA[1000:]),
        ("bytes=1000-5000", "bytes 1000-1023/1024", DATA[1000:]),
        ("bytes=1023-1023", "bytes 1023-1023/1024", DATA[-1:]),
        ("bytes=-1", "bytes 1023-1023/1024", DATA[-1:]),
        ("bytes=-24", "bytes 1000-1023/1024", DATA[-24:]),
        ("bytes=-5000", "bytes 0-1023/1024", DATA),
    ],
)
async def test_ranges(
    client: httpx.AsyncClient,
    local: LocalStore,
    range_header: str,
    content_range: str,
    expected: bytes,
) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    response = await client.get(url, headers={"Range": range_header})
    assert response.status_code == 206
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(expected))
    assert response.content == expected


@pytest.mark.parametrize("range_header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
async def test_unsatisfiable_ranges(
    client: httpx.AsyncClient, local: LocalStore, range_header: str
) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    response = await client.get(url, headers={"Range": range_header})
    assert_envelope(response, 416, "range-not-satisfiable")
    assert response.headers["content-range"] == "bytes */1024"


@pytest.mark.parametrize(
    "range_header", ["bytes=0-1,4-5", "items=0-1", "bytes=20-10", "bytes=-", "bytes=a-b"]
)
async def test_ranges_we_do_not_serve_get_the_whole_object(
    client: httpx.AsyncClient, local: LocalStore, range_header: str
) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    response = await client.get(url, headers={"Range": range_header})
    assert response.status_code == 200
    assert response.content == DATA


async def test_empty_object(client: httpx.AsyncClient, local: LocalStore) -> None:
    local.put("empty", [])
    url = path_of(local.signed_url("empty"))
    response = await client.get(url)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == "0"
    response = await client.get(url, headers={"Range": "bytes=-1"})
    assert response.status_code == 416


async def test_head(client: httpx.AsyncClient, local: LocalStore) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    response = await client.head(url)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "1024"
    assert response.headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'

    response = await client.head(url, headers={"Range": "bytes=-4"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 1020-1023/1024"
    assert response.headers["content-length"] == "4"


async def test_keys_that_need_quoting(client: httpx.AsyncClient, local: LocalStore) -> None:
    key = "odd/ä b+c%20d?e#f.bin"
    local.put(key, [b"odd"])
    response = await client.get(path_of(local.signed_url(key)))
    assert (response.status_code, response.content) == (200, b"odd")


# -- refusals --------------------------------------------------------------------------------


async def test_bad_signature_is_403_in_the_envelope(
    client: httpx.AsyncClient, local: LocalStore
) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    error = assert_envelope(await client.get(forged), 403, "permission-denied")
    assert error == {
        "code": "permission-denied",
        "message": "the URL's signature does not match",
        "details": [],
    }


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?expires=9999999999",
        "?signature=abc",
        "?expires=soon&signature=abc",
        "?expires=9999999999&signature=%C3%A4%C3%A4",  # non-ASCII must not crash the compare
    ],
)
async def test_missing_or_garbled_signatures_are_403(client: httpx.AsyncClient, query: str) -> None:
    assert_envelope(await client.get(f"/objects/data/blob.bin{query}"), 403, "permission-denied")


async def test_signature_binds_key_and_method(client: httpx.AsyncClient, local: LocalStore) -> None:
    local.put("data/other.bin", [b"other"])
    get_query = urlsplit(local.signed_url("data/other.bin")).query
    assert (await client.get(f"/objects/data/blob.bin?{get_query}")).status_code == 403
    put_url = path_of(local.signed_url("data/blob.bin", method="PUT"))
    assert (await client.get(put_url)).status_code == 403
    assert (await client.head(put_url)).status_code == 403
    get_url = path_of(local.signed_url("data/blob.bin"))
    assert (await client.put(get_url, content=b"overwrite")).status_code == 403
    assert b"".join(local.get("data/blob.bin")) == DATA


async def test_expired_signature_is_403(client: httpx.AsyncClient) -> None:
    error = assert_envelope(
        await client.get(signed_path("data/blob.bin", expires_in=-1)), 403, "permission-denied"
    )
    assert error["message"] == "the URL has expired"


async def test_missing_object_is_404(client: httpx.AsyncClient, local: LocalStore) -> None:
    assert_envelope(await client.get(path_of(local.signed_url("data/none"))), 404, "not-found")
    assert (await client.head(path_of(local.signed_url("data/none")))).status_code == 404
    # A prefix of keys is a directory on disk, not an object.
    assert_envelope(await client.get(path_of(local.signed_url("data"))), 404, "not-found")


async def test_without_a_local_store_the_route_is_404(
    client: httpx.AsyncClient, app: FastAPI, local: LocalStore
) -> None:
    url = path_of(local.signed_url("data/blob.bin"))
    app.state.store = object()  # e.g. an S3Store, whose URLs S3 serves itself
    assert_envelope(await client.get(url), 404, "not-found")
    put_url = path_of(local.signed_url("data/new", method="PUT"))
    assert_envelope(await client.put(put_url, content=b"x"), 404, "not-found")


TRAVERSALS = [
    "../secret.txt",
    "data/../../secret.txt",
    "/secret.txt",
    "data//../secret.txt",
    "data\\..\\..\\secret.txt",
    "data/./blob.bin",
]


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_path_traversal_is_refused_even_when_signed(
    client: httpx.AsyncClient, tmp_path: Path, key: str
) -> None:
    (tmp_path / "secret.txt").write_text("outside the store")
    (tmp_path / "store" / "secret.txt").write_text("beside the objects")
    # Signed as if by the service, so only the key checks stand in the way.
    response = await client.get(signed_path(key))
    assert_envelope(response, 422, "invalid-input")
    response = await client.put(signed_path(key, method="PUT"), content=b"pwned")
    assert_envelope(response, 422, "invalid-input")
    assert (tmp_path / "secret.txt").read_text() == "outside the store"


@pytest.mark.parametrize(
    "raw_path",
    [
        "/objects/%2E%2E/secret.txt",
        "/objects/data/%2e%2e/%2e%2e/secret.txt",
        "/objects/..%2Fsecret.txt",
        "/objects/%2Fetc/passwd",
    ],
)
async def test_path_traversal_without_a_signature_is_403(
    client: httpx.AsyncClient, raw_path: str
) -> None:
    assert_envelope(await client.get(raw_path), 403, "permission-denied")


# -- PUT -------------------------------------------------------------------------------------


async def test_put_stores_the_body(client: httpx.AsyncClient, local: LocalStore) -> None:
    body = DATA * 100
    url = path_of(local.signed_url("uploads/new.csv", method="PUT"))
    response = await client.put(url, content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    info = local.head("uploads/new.csv")
    assert (info.size, info.content_type) == (len(body), "text/csv")
    assert b"".join(local.get("uploads/new.csv")) == body


async def test_put_streams_a_chunked_body(client: httpx.AsyncClient, local: LocalStore) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield DATA

    url = path_of(local.signed_url("uploads/chunked.bin", method="PUT"))
    response = await client.put(url, content=chunks())
    assert response.status_code == 200
    assert b"".join(local.get("uploads/chunked.bin")) == DATA * 50
    assert local.head("uploads/chunked.bin").content_type == "application/octet-stream"


async def test_failed_upload_leaves_nothing(client: httpx.AsyncClient, local: LocalStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield DATA
        raise ConnectionResetError("client went away")

    url = path_of(local.signed_url("data/blob.bin", method="PUT"))
    with pytest.raises(ConnectionResetError):
        await client.put(url, content=broken())
    assert b"".join(local.get("data/blob.bin")) == DATA, "the old object is untouched"
    assert list((local.root / "tmp").iterdir()) == []


# -- the pieces ------------------------------------------------------------------------------


def test_parse_range_edges() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-", 10) == (0, 9)
    assert parse_range(" bytes=2-3 ", 10) == (2, 3)
    assert parse_range("bytes=-10", 10) == (0, 9)


def test_verify() -> None:
    expires = int(time.time()) + 60
    good = sign(SECRET_KEY, "GET", "k", expires)
    verify(SECRET_KEY, "GET", "k", str(expires), good)
    verify(SECRET_KEY, "GET", "k", expires, good.upper())
    cases: Iterator[tuple[str, str, str, str | None, str | None]] = iter(
        [
            ("other-secret", "GET", "k", str(expires), good),
            (SECRET_KEY, "PUT", "k", str(expires), good),
            (SECRET_KEY, "GET", "k2", str(expires), good),
            (SECRET_KEY, "GET", "k", str(expires + 1), good),
            (SECRET_KEY, "GET", "k", None, good),
            (SECRET_KEY, "GET", "k", str(expires), None),
        ]
    )
    for secret, method, key, when, signature in cases:
        with pytest.raises(InvalidSignature):
            verify(secret, method, key, when, signature)
    with pytest.raises(InvalidSignature, match="expired"):
        verify(SECRET_KEY, "GET", "k", str(expires), good, now=expires + 1)


# -- LocalStore's own limits (the contract suite covers what both stores share) --------------


def test_a_key_cannot_also_be_a_prefix_on_disk(local: LocalStore) -> None:
    local.put("plain", [b"x"])
    with pytest.raises(InvalidKey, match="clashes"):
        local.put("plain/child", [b"y"])
    with pytest.raises(InvalidKey, match="clashes"):
        local.put("data", [b"y"])  # "data/blob.bin" exists
    assert b"".join(local.get("plain")) == b"x"
    assert [info.key for info in local.list()] == ["data/blob.bin", "plain"]
    assert list((local.root / "tmp").iterdir()) == []


def test_segments_longer_than_a_file_name_are_invalid(local: LocalStore) -> None:
    with pytest.raises(InvalidKey, match="255 bytes"):
        local.put("dir/" + "n" * 256, [b"x"])
    local.put("dir/" + "n" * 255, [b"x"])


def test_symlinks_out_of_the_store_are_not_followed(local: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("outside the store")
    (local.root / "objects" / "link").symlink_to(outside)
    (local.root / "meta" / "link").symlink_to(outside)
    with pytest.raises(InvalidKey, match="outside"):
        local.head("link/secret")
    with pytest.raises(InvalidKey, match="outside"):
        local.put("link/new", [b"x"])
    assert [info.key for info in local.list()] == ["data/blob.bin"]
    assert list(local.list("link/")) == []
