"""Versions and files: draft, upload through a signed URL, register, publish, withdraw."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalog.models import Role
from tests.factories import auth, make_org, make_token, make_user

DATASET = "/api/v1/datasets/smhi/temp"


def _setup(client: TestClient, session: Session, visibility: str = "public") -> str:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org, role=Role.admin))
    response = client.post(
        "/api/v1/datasets",
        headers=auth(token),
        json={
            "organisation": "smhi",
            "name": "temp",
            "title": "Temperatur",
            "visibility": visibility,
            "licence": "CC-BY-4.0",
        },
    )
    assert response.status_code == 201, response.text
    return token


def _upload(client: TestClient, token: str, number: int, key: str, data: bytes) -> None:
    signed = client.post(
        f"{DATASET}/versions/{number}/upload-url", headers=auth(token), json={"key": key}
    )
    assert signed.status_code == 200, signed.text
    parts = urlsplit(signed.json()["url"])
    put = client.put(f"{parts.path}?{parts.query}", content=data)
    assert put.status_code in {200, 201, 204}, put.text


def test_version_lifecycle(client: TestClient, session: Session) -> None:
    token = _setup(client, session)
    created = client.post(
        f"{DATASET}/versions", headers=auth(token), json={"changelog": "Första versionen"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["number"] == 1 and created.json()["state"] == "draft"
    assert created.json()["licence"] == "CC-BY-4.0"  # inherited from the dataset

    # A draft is invisible to anyone outside the organisation.
    assert client.get(f"{DATASET}/versions/1").status_code == 404
    assert client.get(f"{DATASET}/versions").json()["count"] == 0

    data = b"datum;temp\n2015-01-01;-3,2\n"
    _upload(client, token, 1, "original/temp.csv", data)
    file = client.post(
        f"{DATASET}/versions/1/files",
        headers=auth(token),
        json={
            "key": "original/temp.csv",
            "format": "csv",
            "media_type": "text/csv",
            "role": "original",
            "row_count": 1,
        },
    )
    assert file.status_code == 201, file.text
    assert file.json()["size"] == len(data)
    assert file.json()["sha256"] == hashlib.sha256(data).hexdigest()

    published = client.post(f"{DATASET}/versions/1/publish", headers=auth(token))
    assert published.status_code == 200, published.text
    assert published.json()["state"] == "published"
    assert published.json()["published_by"] == "alice"

    public = client.get(f"{DATASET}/versions/1").json()
    assert [f["key"] for f in public["files"]] == ["original/temp.csv"]
    assert client.get(DATASET).json()["latest_version"]["number"] == 1

    # Published versions are immutable.
    assert (
        client.patch(
            f"{DATASET}/versions/1", headers=auth(token), json={"changelog": "x"}
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"{DATASET}/versions/1/files",
            headers=auth(token),
            json={
                "key": "original/temp.csv",
                "format": "csv",
                "media_type": "text/csv",
            },
        ).status_code
        == 409
    )
    # The next version is number 2.
    assert client.post(f"{DATASET}/versions", headers=auth(token), json={}).json()["number"] == 2

    withdrawn = client.post(
        f"{DATASET}/versions/1/withdraw", headers=auth(token), json={"reason": "fel kalibrering"}
    )
    assert withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["state_reason"] == "fel kalibrering"
    assert client.get(DATASET).json()["latest_version"] is None


def test_publish_refuses_a_changed_object(client: TestClient, session: Session) -> None:
    token = _setup(client, session)
    client.post(f"{DATASET}/versions", headers=auth(token), json={})
    _upload(client, token, 1, "data/a.bin", b"first")
    assert (
        client.post(
            f"{DATASET}/versions/1/files",
            headers=auth(token),
            json={
                "key": "data/a.bin",
                "format": "bin",
                "media_type": "application/octet-stream",
            },
        ).status_code
        == 201
    )
    _upload(client, token, 1, "data/a.bin", b"second")  # overwritten after registration
    response = client.post(f"{DATASET}/versions/1/publish", headers=auth(token))
    assert response.status_code == 409
    assert "changed" in response.json()["error"]["message"]
    assert client.get(f"{DATASET}/versions/1", headers=auth(token)).json()["state"] == "draft"


def test_publish_needs_files_and_licence(client: TestClient, session: Session) -> None:
    token = _setup(client, session)
    client.post(f"{DATASET}/versions", headers=auth(token), json={})
    response = client.post(f"{DATASET}/versions/1/publish", headers=auth(token))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "files"


def test_file_registration_refuses_missing_and_traversing_keys(
    client: TestClient, session: Session
) -> None:
    token = _setup(client, session)
    client.post(f"{DATASET}/versions", headers=auth(token), json={})
    missing = client.post(
        f"{DATASET}/versions/1/files",
        headers=auth(token),
        json={
            "key": "data/none.parquet",
            "format": "parquet",
            "media_type": "application/x-parquet",
        },
    )
    assert missing.status_code == 422
    for key in ["../../etc/passwd", "/etc/passwd", "a/../../b", "a//b"]:
        response = client.post(
            f"{DATASET}/versions/1/files",
            headers=auth(token),
            json={
                "key": key,
                "format": "csv",
                "media_type": "text/csv",
            },
        )
        assert response.status_code == 422, key
        assert response.json()["error"]["details"][0]["field"].endswith("key")
        url = client.post(
            f"{DATASET}/versions/1/upload-url", headers=auth(token), json={"key": key}
        )
        assert url.status_code == 422, key
