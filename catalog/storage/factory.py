"""Build the configured object store from the settings' storage URL."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import certifi
import urllib3
from minio import Minio

from catalog.settings import Settings
from catalog.storage.base import ObjectStore
from catalog.storage.local import LocalStore
from catalog.storage.s3 import S3Store

__all__ = ["open_store"]


def open_store(settings: Settings) -> ObjectStore:
    """``file:///path`` → LocalStore (directory created); ``s3://bucket[/prefix]`` → S3Store
    (bucket created if missing, so the server must be reachable)."""
    url = settings.resolved_storage_url
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"storage URL {url!r}: file URLs name a local path, not a host")
        root = Path(url2pathname(parts.path))
        root.mkdir(parents=True, exist_ok=True)
        return LocalStore(
            root,
            base_url=settings.base_url,
            secret_key=settings.secret_key.get_secret_value(),
        )
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not bucket:
            raise ValueError(f"storage URL {url!r} has no bucket; use s3://bucket[/prefix]")
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=_http_client(),
        )
        store = S3Store(client, bucket, prefix=unquote(parts.path))
        store.ensure_bucket()
        return store
    raise ValueError(
        f"storage URL {url!r} has an unknown scheme {parts.scheme!r}; "
        "use file:///path or s3://bucket[/prefix]"
    )


def _http_client() -> urllib3.PoolManager:
    # minio's own default waits five minutes to connect and retries five times, which would
    # hang /readyz and startup on a dead server; this fails within seconds instead.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=120),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
