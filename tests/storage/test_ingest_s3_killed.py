"""The S3 server killed in the middle of an ingestion job: the job fails after its retries,
the version is rejected with the reason, and nothing is published."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import DatasetVersion, VersionState
from catalog.storage.base import ObjectInfo, ObjectStore
from datahamn.app import create_app
from datahamn.worker import handlers
from ingest.jobs.worker import Worker
from tests.factories import auth, make_org, make_token, make_user
from tests.support.s3_app import s3_settings
from tests.support.seaweed import running_seaweedfs

pytestmark = [pytest.mark.s3, pytest.mark.slow]


class _KillOnFirstParquet:
    """Kills the real S3 server (SIGKILL) just as the first Parquet object is written."""

    def __init__(self, inner: ObjectStore, pid: int) -> None:
        self.inner, self.pid, self.killed = inner, pid, False

    def put(self, key: str, data: BinaryIO | Iterable[bytes], **kwargs: Any) -> ObjectInfo:
        if key.endswith(".parquet") and not self.killed:
            self.killed = True
            os.kill(self.pid, signal.SIGKILL)
        return self.inner.put(key, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_s3_killed_mid_job_rejects_the_version(
    db_url: str, tmp_path: Path, session: Session
) -> None:
    with running_seaweedfs(tmp_path / "weed") as seaweed:
        settings = s3_settings(seaweed, db_url=db_url, home=tmp_path, bucket="ingest")
        app = create_app(settings, upgrade_on_start=False)
        org = make_org(session, "smhi")
        token = make_token(session, make_user(session, "alice", org=org))
        with TestClient(app, raise_server_exceptions=False) as client:
            uploaded = client.post(
                "/api/v1/uploads/form",
                headers=auth(token),
                files={"file": ("t.csv", b"a;b\n1;2\n3;4\n")},
                data={"dataset": "smhi/temp"},
            )
            assert uploaded.status_code == 201, uploaded.text
            queued = client.post(
                "/api/v1/ingest",
                headers=auth(token),
                json={
                    "upload_ids": [uploaded.json()["id"]],
                    "dataset": "smhi/temp",
                    "licence": "CC0-1.0",
                    "visibility": "public",
                },
            )
            assert queued.status_code == 202, queued.text
            store = _KillOnFirstParquet(app.state.store, seaweed.pid)
            worker = Worker(
                factory=app.state.session_factory,
                store=store,
                handlers=handlers(),
                retry_delay=timedelta(0),
            )
            for _ in range(3):  # every attempt meets the dead server
                assert worker.run_once()
            assert store.killed
            job = client.get(f"/api/v1/jobs/{queued.json()['id']}", headers=auth(token)).json()
            assert job["state"] == "failed" and job["attempts"] == 3
            assert client.get("/api/v1/datasets/smhi/temp").json()["latest_version"] is None
        app.state.engine.dispose()
    session.expire_all()
    version = session.scalars(select(DatasetVersion)).one()
    assert version.state is VersionState.rejected
    assert version.state_reason
