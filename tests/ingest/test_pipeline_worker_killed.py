"""A worker process killed (SIGKILL) in the middle of an ingestion: another worker takes the
job over when the lease runs out, continues the same version, and publishes exactly one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import DatasetVersion, Role
from datahamn.worker import handlers
from ingest.jobs.worker import Worker
from tests.factories import make_org, make_token, make_user
from tests.ingest.test_pipeline import CSV, ingest, job, upload

ROOT = Path(__file__).resolve().parents[2]

# The doomed worker: a real Worker with the real handlers, whose store kills the process
# the moment the first Parquet object is written (after the version exists and the original
# file is stored), as a crash or an OOM kill would.
_DOOMED = """
import os, signal, sys
from datetime import timedelta
from catalog.db import make_engine, make_session_factory
from catalog.storage.local import LocalStore
from datahamn.worker import handlers
from ingest.jobs.worker import Worker

class Doomed:
    def __init__(self, inner):
        self.inner = inner
    def put(self, key, data, **kwargs):
        if key.endswith(".parquet"):
            print("dying", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.put(key, data, **kwargs)
    def __getattr__(self, name):
        return getattr(self.inner, name)

factory = make_session_factory(make_engine(sys.argv[1]))
store = Doomed(LocalStore(sys.argv[2], base_url="http://testserver", secret_key=sys.argv[3]))
Worker(factory=factory, store=store, handlers=handlers(), lease=timedelta(seconds=2)).run_once()
"""


@pytest.mark.slow
def test_killed_worker_never_makes_two_versions(
    app: FastAPI,
    client: TestClient,
    session: Session,
    db_url: str,
    tmp_path: Path,
) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org, role=Role.admin))
    queued = ingest(client, token, upload(client, token, CSV), licence="CC0-1.0")
    settings = app.state.settings
    doomed = subprocess.run(
        [
            sys.executable,
            "-c",
            _DOOMED,
            db_url,
            str(tmp_path / "objects"),
            settings.secret_key.get_secret_value(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert doomed.returncode == -9, doomed.stderr  # SIGKILL, mid-job
    assert "dying" in doomed.stdout
    assert job(client, token, queued["id"])["state"] == "running"  # orphaned, lease held

    worker = Worker(factory=app.state.session_factory, store=app.state.store, handlers=handlers())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not worker.run_once():
        time.sleep(0.3)  # until the dead worker's 2 s lease runs out
    done = job(client, token, queued["id"])
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["result"]["version"] == 1
    assert any("continuing version 1" in line["message"] for line in done["log"])
    session.expire_all()
    assert session.scalar(select(func.count(DatasetVersion.id))) == 1
    assert (
        client.get(
            "/api/v1/datasets/smhi/temp", headers={"Authorization": f"Bearer {token}"}
        ).json()["latest_version"]["number"]
        == 1
    )
