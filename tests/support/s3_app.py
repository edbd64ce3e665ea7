"""Settings for the whole app on a test SeaweedFS server (one place for the S3 fields)."""

from __future__ import annotations

import uuid
from pathlib import Path

from catalog.settings import Settings
from tests.support.seaweed import SeaweedServer


def s3_settings(
    server: SeaweedServer, *, db_url: str, home: Path, bucket: str, prefix: str = ""
) -> Settings:
    """The app on ``server`` in a fresh bucket named ``{bucket}-<random>``; no embedded
    workers (tests that need one run it themselves)."""
    path = f"/{prefix}" if prefix else ""
    return Settings(
        environment="test",
        home=home,
        database_url=db_url,
        storage_url=f"s3://{bucket}-{uuid.uuid4().hex[:10]}{path}",
        s3_endpoint=server.endpoint,
        s3_access_key=server.access_key,
        s3_secret_key=server.secret_key,
        s3_region=server.region,
        secret_key="test-secret",
        embedded_workers=0,
    )
