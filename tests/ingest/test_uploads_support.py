"""Fixtures and helpers of the upload tests (test_uploads.py, test_uploads_rules.py): people
of each kind with their headers, and short ways to create and PATCH uploads. No tests here."""

from __future__ import annotations

import base64

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from catalog.models import Role
from catalog.storage.base import ObjectStore
from tests.factories import auth, make_org, make_token, make_user

TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {"Content-Type": "application/offset+octet-stream"}
UPLOADS = "/api/v1/uploads"
NOT_UTF8 = base64.b64encode(b"\xff").decode()


def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def metadata(filename: str = "temp.csv", dataset: str = "smhi/temp", **extra: str) -> str:
    pairs = {"filename": filename, "dataset": dataset, **extra}
    return ",".join(f"{key} {b64(value)}" for key, value in pairs.items())


@pytest.fixture
def people(session: Session) -> dict[str, dict[str, str]]:
    """Authorization headers: alice and bob publish for smhi, carol is a member, olle belongs
    nowhere, scb-pia publishes for scb, root is a sysadmin; anonymous sends none."""
    smhi, scb = make_org(session, "smhi"), make_org(session, "scb")
    users = {
        "alice": make_user(session, "alice", org=smhi),
        "bob": make_user(session, "bob", org=smhi),
        "carol": make_user(session, "carol", org=smhi, role=Role.member),
        "olle": make_user(session, "olle"),
        "pia": make_user(session, "pia", org=scb),
        "root": make_user(session, "root", sysadmin=True),
    }
    headers = {name: {**auth(make_token(session, user)), **TUS} for name, user in users.items()}
    return {**headers, "anonymous": dict(TUS)}


@pytest.fixture
def alice(people: dict[str, dict[str, str]]) -> dict[str, str]:
    return people["alice"]


@pytest.fixture
def store(app: FastAPI) -> ObjectStore:
    result: ObjectStore = app.state.store
    return result


def create(
    client: TestClient,
    headers: dict[str, str],
    length: int | None = 10,
    meta: str | None = None,
    **extra: str,
) -> str:
    sizes = {"Upload-Length": str(length)} if length is not None else {}
    response = client.post(
        UPLOADS, headers={**headers, **sizes, "Upload-Metadata": meta or metadata(), **extra}
    )
    assert response.status_code == 201, response.text
    location: str = response.headers["location"]
    return location


def patch(
    client: TestClient, url: str, headers: dict[str, str], offset: int, body: bytes, **extra: str
) -> Response:
    response: Response = client.patch(
        url, headers={**headers, **STREAM, "Upload-Offset": str(offset), **extra}, content=body
    )
    return response


def chunk_keys(store: ObjectStore, url: str) -> list[str]:
    return [info.key for info in store.list(f"staging/{url.rsplit('/', 1)[1]}/")]


def assert_error(response: Response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["tus-resumable"] == "1.0.0"
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in [d["field"] for d in error["details"]], error


def auth_only(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "Tus-Resumable"}


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[1]
