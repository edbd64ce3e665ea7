"""The ObjectStore contract, run against LocalStore and S3Store (a real SeaweedFS).

Whatever passes here for one store must pass for the other: this file is where the two
implementations are held to the same behaviour.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from pydantic import SecretStr

from catalog.settings import Settings
from catalog.storage import (
    InvalidKey,
    LocalStore,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    StoreUnavailable,
    open_store,
)
from tests.support.seaweed import SeaweedServer

MiB = 1 << 20
BAD_KEYS = [
    "../x",
    "/abs",
    "a//b",
    "a/../b",
    "a/./b",
    "a/\x00b",
    "a\\b",
    "a/",
    "",
    "x" * 1025,
]


def read(store: ObjectStore, key: str, **kwargs: int) -> bytes:
    return b"".join(store.get(key, **kwargs))


def pseudo_random_chunks(total: int, seed: int, chunk: int = MiB) -> Iterator[bytes]:
    """Deterministic bytes, one chunk at a time, so a large object never sits in memory."""
    rng = random.Random(seed)
    for offset in range(0, total, chunk):
        yield rng.randbytes(min(chunk, total - offset))


# -- bytes in, bytes out ---------------------------------------------------------------------


def test_put_and_get_round_trip_file_iterable_and_generator(
    store: ObjectStore, tmp_path: Path
) -> None:
    store.put("in/bytesio", io.BytesIO(b"from a BytesIO"))
    store.put("in/list", [b"from ", b"", b"a list"])
    store.put("in/generator", (part for part in (b"from a ", b"generator")))
    source = tmp_path / "source.bin"
    source.write_bytes(b"from a file\x00\xff")
    with source.open("rb") as file:
        info = store.put("in/file", file, length=source.stat().st_size)

    assert read(store, "in/bytesio") == b"from a BytesIO"
    assert read(store, "in/list") == b"from a list"
    assert read(store, "in/generator") == b"from a generator"
    assert read(store, "in/file") == b"from a file\x00\xff"
    assert (info.key, info.size) == ("in/file", 13)


def test_empty_object(store: ObjectStore) -> None:
    info = store.put("empty", [])
    assert info.size == 0
    assert read(store, "empty") == b""


def test_put_overwrites(store: ObjectStore) -> None:
    store.put("key", [b"first version"], content_type="text/plain")
    info = store.put("key", [b"second"], content_type="text/csv")
    assert read(store, "key") == b"second"
    assert (info.size, info.content_type) == (6, "text/csv")


def test_put_refuses_a_length_that_does_not_match(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="announced"):
        store.put("short", [b"12345"], length=6)
    with pytest.raises(ValueError, match="announced"):
        store.put("long", [b"12345"], length=4)
    assert not store.exists("short")
    assert not store.exists("long")


def test_large_object_streams_in_and_out(store: ObjectStore) -> None:
    size = 40 * MiB  # above S3Store's 16 MiB part size, so S3 goes multipart
    expected = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for chunk in pseudo_random_chunks(size, seed=40):
            expected.update(chunk)
            yield chunk

    info = store.put("big/object.bin", chunks())
    assert info.size == size
    if isinstance(store, S3Store):
        assert info.etag.endswith("-3"), "a 40 MiB put should be a three-part upload"

    actual, largest = hashlib.sha256(), 0
    for chunk in store.get("big/object.bin"):
        actual.update(chunk)
        largest = max(largest, len(chunk))
    assert actual.hexdigest() == expected.hexdigest()
    assert largest <= MiB, "get() should stream in chunks, not return the object whole"


# -- ranges, metadata ------------------------------------------------------------------------


def test_byte_ranges(store: ObjectStore) -> None:
    data = bytes(range(256)) * 4
    store.put("ranged", [data])

    assert read(store, "ranged", start=1000) == data[1000:]
    assert read(store, "ranged", start=10, end=19) == data[10:20]
    assert read(store, "ranged", start=1023, end=1023) == data[-1:]
    assert read(store, "ranged", start=0, end=0) == data[:1]
    assert read(store, "ranged", start=1000, end=5000) == data[1000:]  # end is clamped
    chunks = list(store.get("ranged", start=100, chunk_size=100))
    assert b"".join(chunks) == data[100:]
    assert max(len(chunk) for chunk in chunks) <= 100


@pytest.mark.parametrize(("start", "end"), [(1024, None), (2000, 3000), (-1, None), (5, 4)])
def test_unsatisfiable_ranges_are_value_errors(
    store: ObjectStore, start: int, end: int | None
) -> None:
    store.put("ranged", [bytes(1024)])
    with pytest.raises(ValueError):
        read(store, "ranged", start=start, **({} if end is None else {"end": end}))


def test_head_and_exists(store: ObjectStore) -> None:
    data = b"id,name\n1,alpha\n"
    before = datetime.now(UTC) - timedelta(minutes=1)
    put_info = store.put("tables/t.csv", io.BytesIO(data), content_type="text/csv")
    info = store.head("tables/t.csv")

    assert info == put_info
    assert info.key == "tables/t.csv"
    assert info.size == len(data)
    assert info.etag == hashlib.md5(data).hexdigest()
    assert info.content_type == "text/csv"
    assert info.last_modified.tzinfo is not None
    assert before < info.last_modified < datetime.now(UTC) + timedelta(minutes=1)
    assert store.exists("tables/t.csv")
    assert not store.exists("tables/other.csv")
    assert not store.exists("tables"), "a prefix of keys is not itself an object"


def test_list_by_prefix_in_key_order(store: ObjectStore) -> None:
    keys = [
        "data/a/b",
        "data/a.txt",
        "data/a0",
        "data/b/c/d",
        "data-not/x",
        "other/x",
        "datafile",
    ]
    for key in random.Random(7).sample(keys, len(keys)):
        store.put(key, [key.encode()])

    assert [i.key for i in store.list("data/")] == [
        "data/a.txt",  # "." sorts before "/", as in S3's UTF-8 order
        "data/a/b",
        "data/a0",
        "data/b/c/d",
    ]
    assert [i.key for i in store.list("data/a")] == ["data/a.txt", "data/a/b", "data/a0"]
    assert [i.key for i in store.list("data")] == [
        "data-not/x",
        "data/a.txt",
        "data/a/b",
        "data/a0",
        "data/b/c/d",
        "datafile",
    ]
    assert [i.key for i in store.list()] == sorted(keys)
    assert list(store.list("nothing/")) == []
    for listed in store.list("data/b/"):
        head = store.head(listed.key)
        assert (listed.size, listed.etag) == (head.size, head.etag)


def test_copy(store: ObjectStore) -> None:
    store.put("src/one", [b"payload"], content_type="application/json")
    store.put("dst/one", [b"to be replaced"])
    info = store.copy("src/one", "dst/one")
    assert read(store, "dst/one") == b"payload"
    assert (info.key, info.size, info.content_type) == ("dst/one", 7, "application/json")
    assert read(store, "src/one") == b"payload", "copy leaves the source in place"


def test_put_records_a_sha256_it_has_checked(store: ObjectStore) -> None:
    data = b"the bytes that were sent"
    digest = hashlib.sha256(data).hexdigest()
    info = store.put("digest/right", [data[:5], data[5:]], sha256=digest)
    assert (info.size, info.sha256) == (len(data), digest)
    assert store.head("digest/right").sha256 == digest
    assert store.head(store.put("digest/none", [data]).key).sha256 is None

    with pytest.raises(ValueError, match="sha256"):
        store.put("digest/wrong", [data], sha256=hashlib.sha256(b"other").hexdigest())
    assert not store.exists("digest/wrong")


def test_a_copy_is_independent_of_its_source(store: ObjectStore) -> None:
    digest = hashlib.sha256(b"first").hexdigest()
    store.put("src/linked", [b"first"], sha256=digest)
    assert store.copy("src/linked", "dst/linked").sha256 == digest
    # LocalStore links a copy to its source's file: neither overwriting nor deleting the
    # source may reach the copy.
    store.put("src/linked", [b"second"])
    assert read(store, "dst/linked") == b"first"
    store.delete("src/linked")
    assert read(store, "dst/linked") == b"first"
    assert store.head("dst/linked").sha256 == digest


def test_compose_concatenates_in_order(store: ObjectStore) -> None:
    # 6 MiB + 5 MiB + a short tail: every part but the last is at least S3's 5 MiB minimum,
    # so S3 copies the parts inside the server.
    pieces = [random.Random(n).randbytes(size) for n, size in enumerate([6 * MiB, 5 * MiB, 999])]
    for n, piece in enumerate(pieces):
        store.put(f"parts/{n}", [piece])
    whole = b"".join(pieces)
    digest = hashlib.sha256(whole).hexdigest()
    info = store.compose(
        ["parts/0", "parts/1", "parts/2"], "whole/file.csv", content_type="text/csv", sha256=digest
    )
    assert (info.size, info.sha256, info.content_type) == (len(whole), digest, "text/csv")
    assert hashlib.sha256(read(store, "whole/file.csv")).hexdigest() == digest
    head = store.head("whole/file.csv")
    assert (head.size, head.sha256, head.content_type) == (len(whole), digest, "text/csv")
    if isinstance(store, S3Store):
        assert head.etag.endswith("-3"), "three parts copied by the server"
    assert read(store, "parts/1") == pieces[1], "compose leaves its sources in place"


def test_compose_around_short_sources(store: ObjectStore) -> None:
    # A resumed tus upload: full chunks with short ones (interrupted PATCHes) in between.
    sizes = [6 * MiB, 1000, 12 * MiB, 0, 2000, 8 * MiB]
    pieces = [random.Random(n).randbytes(size) for n, size in enumerate(sizes)]
    keys = [f"chunks/{n}" for n in range(len(pieces))]
    for key, piece in zip(keys, pieces, strict=True):
        store.put(key, [piece])
    passed_through: list[int] = []
    if isinstance(store, S3Store):
        inner_get = store.get

        def counting_get(
            key: str, *, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
        ) -> Iterator[bytes]:
            for data in inner_get(key, start=start, end=end, chunk_size=chunk_size):
                passed_through.append(len(data))
                yield data

        store.get = counting_get  # type: ignore[method-assign]
    info = store.compose(keys, "whole/resumed")
    composing = sum(passed_through)
    whole = b"".join(pieces)
    assert info.size == len(whole)
    assert hashlib.sha256(read(store, "whole/resumed")).hexdigest() == (
        hashlib.sha256(whole).hexdigest()
    )
    assert [o.key for o in store.list("whole/")] == ["whole/resumed"], "no temporary objects"
    if isinstance(store, S3Store):
        # Parts: the 6 MiB chunk | 1000 B + the head of the 12 MiB one, to make 5 MiB
        # (uploaded) | the rest of it | 2000 B + the head of the 8 MiB one (uploaded) | the
        # rest of it. Only the two 5 MiB parts passed through this process.
        assert info.etag.endswith("-5")
        assert composing == 10 * MiB


def test_compose_of_small_or_single_sources(store: ObjectStore) -> None:
    # Below S3's part minimum: composed through the process instead, with the same result.
    store.put("small/a", [b"abc"])
    store.put("small/b", [b"defg"], content_type="text/plain")
    info = store.compose(["small/a", "small/b", "small/a"], "small/all")
    assert (info.size, read(store, "small/all")) == (10, b"abcdefgabc")
    assert info.content_type == "application/octet-stream"
    single = store.compose(["small/b"], "small/one", content_type="text/csv", sha256="ab" * 32)
    assert (read(store, "small/one"), single.content_type, single.sha256) == (
        b"defg",
        "text/csv",
        "ab" * 32,
    )
    with pytest.raises(ObjectNotFound):
        store.compose(["small/a", "small/missing"], "small/never")
    assert not store.exists("small/never")


def test_delete_is_idempotent_and_leaves_no_prefix_behind(store: ObjectStore) -> None:
    store.put("deep/er/key", [b"x"])
    store.delete("deep/er/key")
    assert not store.exists("deep/er/key")
    store.delete("deep/er/key")
    store.delete("never/existed")
    assert list(store.list("deep")) == []
    # On a filesystem this needs the emptied directories gone: "deep" was one.
    store.put("deep", [b"now a plain key"])
    assert read(store, "deep") == b"now a plain key"


def test_missing_objects(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        read(store, "missing")
    with pytest.raises(ObjectNotFound):
        store.head("missing")
    with pytest.raises(ObjectNotFound):
        store.copy("missing", "target")
    assert not store.exists("target")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused(store: ObjectStore, key: str) -> None:
    store.put("fine", [b"x"])
    with pytest.raises(InvalidKey):
        store.put(key, [b"x"])
    with pytest.raises(InvalidKey):
        read(store, key)
    with pytest.raises(InvalidKey):
        store.head(key)
    with pytest.raises(InvalidKey):
        store.exists(key)
    with pytest.raises(InvalidKey):
        store.copy("fine", key)
    with pytest.raises(InvalidKey):
        store.copy(key, "fine")
    with pytest.raises(InvalidKey):
        store.delete(key)
    with pytest.raises(InvalidKey):
        store.signed_url(key)


@pytest.mark.parametrize("prefix", ["../", "/abs/", "a//", "a/../"])
def test_invalid_list_prefixes_are_refused(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        list(store.list(prefix))


def test_check(store: ObjectStore) -> None:
    store.check()


# -- signed URLs, fetched by a real HTTP client from a real server ---------------------------


def test_signed_get_url_serves_the_bytes_and_ranges(store: ObjectStore) -> None:
    key = "signed/with space/ü+%.bin"  # every character that needs quoting in a URL
    data = bytes(range(256))
    store.put(key, [data], content_type="application/x-test")
    url = store.signed_url(key, expires_in=60)

    full = httpx.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-type"] == "application/x-test"

    part = httpx.get(url, headers={"Range": "bytes=16-31"})
    assert part.status_code == 206
    assert part.content == data[16:32]
    assert part.headers["content-range"] == "bytes 16-31/256"


def test_signed_put_url_uploads(store: ObjectStore) -> None:
    url = store.signed_url("uploads/part-0.bin", method="PUT", expires_in=60)
    data = bytes(range(256)) * 1000

    def body() -> Iterator[bytes]:
        for offset in range(0, len(data), 64 * 1024):
            yield data[offset : offset + 64 * 1024]

    response = httpx.put(url, content=data)
    assert response.status_code == 200, response.text
    assert read(store, "uploads/part-0.bin") == data

    # Chunked transfer encoding, as a streaming client sends it. S3 wants a length (or its
    # own aws-chunked encoding) for presigned PUTs, so this is for the local route only.
    if isinstance(store, LocalStore):
        response = httpx.put(url, content=body())
        assert response.status_code == 200, response.text
        assert read(store, "uploads/part-0.bin") == data


def test_expired_urls_are_refused(store: ObjectStore) -> None:
    store.put("expiring", [b"x"])
    get_url = store.signed_url("expiring", expires_in=1)
    put_url = store.signed_url("expiring", method="PUT", expires_in=1)
    issued = time.time()
    # Expiry is to the second on both stores, so two seconds is the shortest safe wait.
    time.sleep(max(0.0, issued + 2.1 - time.time()))
    assert httpx.get(get_url).status_code == 403
    assert httpx.put(put_url, content=b"y").status_code == 403
    assert read(store, "expiring") == b"x"


def test_tampered_urls_are_refused(store: ObjectStore) -> None:
    store.put("private/a", [b"a"])
    store.put("private/b", [b"b"])
    url = store.signed_url("private/a", expires_in=60)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    name = "signature" if "signature" in query else "X-Amz-Signature"
    last = query[name][-1]
    query[name] = query[name][:-1] + ("0" if last != "0" else "1")
    tampered = urlunsplit(parts._replace(query=urlencode(query)))
    other_key = urlunsplit(parts._replace(path=parts.path.replace("/private/a", "/private/b")))

    assert httpx.get(url).status_code == 200
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(other_key).status_code == 403
    put_url = store.signed_url("private/a", method="PUT", expires_in=60)
    assert httpx.get(put_url).status_code == 403, "a PUT URL does not allow GET"


def test_signed_urls_refuse_bad_expiry(store: ObjectStore) -> None:
    store.put("k", [b"x"])
    with pytest.raises(ValueError):
        store.signed_url("k", expires_in=0)
    with pytest.raises(ValueError):
        store.signed_url("k", expires_in=8 * 24 * 3600)


# -- construction ----------------------------------------------------------------------------


def test_open_store_builds_a_local_store(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet" / "there"
    settings = Settings(
        storage_url=root.as_uri(), secret_key=SecretStr("s3cret"), base_url="http://127.0.0.1:1/"
    )
    store = open_store(settings)
    assert isinstance(store, LocalStore)
    assert store.root == root and root.is_dir()
    assert store.signed_url("k").startswith("http://127.0.0.1:1/objects/k?")


@pytest.mark.s3
def test_open_store_builds_an_s3_store_and_its_bucket(seaweedfs: SeaweedServer) -> None:
    settings = Settings(
        storage_url="s3://built-by-factory/some/prefix/",
        s3_endpoint=seaweedfs.endpoint,
        s3_access_key=seaweedfs.access_key,
        s3_secret_key=SecretStr(seaweedfs.secret_key),
        s3_region=seaweedfs.region,
    )
    store = open_store(settings)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("built-by-factory", "some/prefix/")
    store.check()
    store.put("k", [b"v"])
    assert open_store(settings).exists("k"), "a second open finds the same bucket"
    listed = seaweedfs.client().list_objects("built-by-factory", recursive=True)
    assert [obj.object_name for obj in listed] == ["some/prefix/k"]


@pytest.mark.s3
def test_s3_prefixes_keep_stores_apart(seaweedfs: SeaweedServer) -> None:
    client = seaweedfs.client()
    client.make_bucket("shared-by-two-stores")
    one = S3Store(client, "shared-by-two-stores", prefix="one")
    two = S3Store(client, "shared-by-two-stores", prefix="/two/")
    one.put("k", [b"1"])
    two.put("k", [b"2"])
    assert read(one, "k") == b"1"
    assert [i.key for i in two.list()] == ["k"]
    one.delete("k")
    assert read(two, "k") == b"2"


def test_open_store_refuses_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="unknown scheme 'gs'"):
        open_store(Settings(storage_url="gs://bucket"))
    with pytest.raises(ValueError, match="no bucket"):
        open_store(Settings(storage_url="s3:///prefix"))


def test_unreachable_stores_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        open_store(Settings(storage_url="s3://bucket", s3_endpoint=f"127.0.0.1:{_closed_port()}"))
    local = LocalStore(tmp_path / "gone", base_url="http://127.0.0.1:1", secret_key="k")
    shutil.rmtree(tmp_path / "gone")
    with pytest.raises(StoreUnavailable):
        local.check()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
