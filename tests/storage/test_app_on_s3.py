"""The whole app on the S3 store: readiness, and a version published through a presigned
PUT URL that a plain HTTP client uploads to (the deployment path, against SeaweedFS)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from datahamn.app import create_app
from tests.factories import auth, make_org, make_token, make_user
from tests.support.s3_app import s3_settings
from tests.support.seaweed import SeaweedServer

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_client(db_url: str, tmp_path: Path, seaweedfs: SeaweedServer) -> Iterator[TestClient]:
    settings = s3_settings(seaweedfs, db_url=db_url, home=tmp_path, bucket="app", prefix="catalog")
    app = create_app(settings, upgrade_on_start=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def test_ready_on_s3(s3_client: TestClient) -> None:
    response = s3_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "object_store": "ok"}


def test_publish_through_a_presigned_put(s3_client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org))
    base = "/api/v1/datasets/smhi/temp"
    assert (
        s3_client.post(
            "/api/v1/datasets",
            headers=auth(token),
            json={
                "organisation": "smhi",
                "name": "temp",
                "title": "T",
                "licence": "CC0-1.0",
                "visibility": "public",
            },
        ).status_code
        == 201
    )
    assert s3_client.post(f"{base}/versions", headers=auth(token), json={}).status_code == 201
    signed = s3_client.post(
        f"{base}/versions/1/upload-url", headers=auth(token), json={"key": "data/t.csv"}
    ).json()
    data = "ort;temp\nBorås;-3,2\n".encode()
    assert httpx.put(signed["url"], content=data).status_code == 200
    file = s3_client.post(
        f"{base}/versions/1/files",
        headers=auth(token),
        json={"key": "data/t.csv", "format": "csv", "media_type": "text/csv"},
    )
    assert file.status_code == 201, file.text
    assert file.json()["sha256"] == hashlib.sha256(data).hexdigest()
    published = s3_client.post(f"{base}/versions/1/publish", headers=auth(token))
    assert published.json()["state"] == "published", published.text
