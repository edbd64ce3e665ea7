"""Resumable uploads on the S3 store (SeaweedFS): the tuspy scenario of
``tests/ingest/test_uploads_tuspy.py``, where each PATCH body becomes an S3 object (multipart
once it is larger than a part) and an interrupted one keeps the parts that arrived."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from catalog.storage import S3Store
from datahamn.app import create_app
from tests.ingest.test_uploads_tuspy import run_tus_scenario
from tests.support.s3_app import s3_settings
from tests.support.seaweed import SeaweedServer

pytestmark = [pytest.mark.s3, pytest.mark.slow]
MiB = 1 << 20


@pytest.fixture
def s3_app(db_url: str, tmp_path: Path, seaweedfs: SeaweedServer) -> Iterator[FastAPI]:
    settings = s3_settings(
        seaweedfs, db_url=db_url, home=tmp_path, bucket="uploads", prefix="catalog"
    )
    app = create_app(settings, upgrade_on_start=False)
    # S3's smallest part, so that the interrupted PATCH spans a whole part and a partial one.
    assert isinstance(app.state.store, S3Store)
    app.state.store.part_size = 5 * MiB
    yield app
    app.state.engine.dispose()


def test_tuspy_uploads_and_resumes_on_s3(s3_app: FastAPI, session: Session) -> None:
    run_tus_scenario(s3_app, session, size=8 * MiB, dropped_after=6 * MiB)
