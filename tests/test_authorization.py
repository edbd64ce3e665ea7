"""Deny by default: every route of the app, called by every kind of caller.

The table must name every route the app has; adding a route without deciding who may call
it fails ``test_every_route_is_in_the_table``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Dataset, DatasetVersion, Role, utcnow
from catalog.quality import DatasetSuite, QualityReport
from ingest.jobs.models import Job, JobState
from ingest.specs import StoredPipelineSpec
from ingest.uploads.models import Upload, UploadState
from tests.factories import auth, make_org, make_token, make_user
from validation import Report

ANON, OUTSIDER, MEMBER, PUBLISHER, ADMIN, ROOT = (
    "anonymous",
    "outsider",
    "member",
    "publisher",
    "admin",
    "sysadmin",
)
CALLERS = [ANON, OUTSIDER, MEMBER, PUBLISHER, ADMIN, ROOT]
D = "/api/v1/datasets/smhi"
JOB = "j" * 32
ORG = "/api/v1/organisations/smhi"
UPLOAD_ID = "0123456789abcdef" * 2  # the publisher's upload in progress (tokens fixture)
UPLOAD = f"/api/v1/uploads/{UPLOAD_ID}"
TUS = {"Tus-Resumable": "1.0.0"}


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def _writers(ok: int, *, members: int = 403) -> dict[str, int]:
    return {ANON: 401, OUTSIDER: 403, MEMBER: members, PUBLISHER: ok, ADMIN: ok, ROOT: ok}


def _draft_writers(ok: int) -> dict[str, int]:
    """A draft is invisible outside its organisation, so outsiders get 404, not 401/403."""
    return {**_writers(ok), ANON: 404, OUTSIDER: 404}


def _admins(ok: int) -> dict[str, int]:
    return {ANON: 401, OUTSIDER: 403, MEMBER: 403, PUBLISHER: 403, ADMIN: ok, ROOT: ok}


def _owner(ok: int) -> dict[str, int]:
    """An upload is its owner's (the publisher's): anyone else but a sysadmin gets 404."""
    return {ANON: 401, OUTSIDER: 404, MEMBER: 404, PUBLISHER: ok, ADMIN: 404, ROOT: ok}


# (method, route path) -> (concrete url, json body or None, expected status per caller)
# The private dataset `secret` answers 404 to callers outside the organisation, so its
# existence does not leak.
TABLE: dict[tuple[str, str], tuple[str, Any, dict[str, int]]] = {
    ("GET", "/healthz"): ("/healthz", None, _all(200)),
    ("GET", "/readyz"): ("/readyz", None, _all(200)),
    ("GET", "/api/v1/organisations"): ("/api/v1/organisations", None, _all(200)),
    ("POST", "/api/v1/organisations"): (
        "/api/v1/organisations",
        {"name": "new-org", "title": "New"},
        {ANON: 401, OUTSIDER: 403, MEMBER: 403, PUBLISHER: 403, ADMIN: 403, ROOT: 201},
    ),
    ("GET", "/api/v1/organisations/{name}"): (ORG, None, _all(200)),
    ("PATCH", "/api/v1/organisations/{name}"): (ORG, {"title": "SMHI"}, _admins(200)),
    ("GET", "/api/v1/organisations/{name}/members"): (
        f"{ORG}/members",
        None,
        {ANON: 401, OUTSIDER: 403, MEMBER: 200, PUBLISHER: 200, ADMIN: 200, ROOT: 200},
    ),
    ("PUT", "/api/v1/organisations/{name}/members/{username}"): (
        f"{ORG}/members/outsider",
        {"role": "member"},
        _admins(200),
    ),
    ("DELETE", "/api/v1/organisations/{name}/members/{username}"): (
        f"{ORG}/members/member",
        None,
        _admins(204),
    ),
    ("GET", "/api/v1/organisations/{name}/agreements"): (f"{ORG}/agreements", None, _all(200)),
    ("POST", "/api/v1/organisations/{name}/agreements"): (
        f"{ORG}/agreements",
        {"name": "dsa", "title": "DSA", "text": "Terms."},
        _admins(201),
    ),
    ("GET", "/api/v1/organisations/{name}/agreements/{agreement}"): (
        f"{ORG}/agreements/base",
        None,
        _all(200),
    ),
    ("GET", "/api/v1/users/me"): ("/api/v1/users/me", None, {**_all(200), ANON: 401}),
    ("GET", "/api/v1/licences"): ("/api/v1/licences", None, _all(200)),
    ("GET", "/api/v1/licences/{licence_id}"): ("/api/v1/licences/MIT", None, _all(200)),
    ("GET", "/api/v1/datasets"): ("/api/v1/datasets", None, _all(200)),
    ("POST", "/api/v1/datasets"): (
        "/api/v1/datasets",
        {"organisation": "smhi", "name": "new", "title": "New"},
        _writers(201),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}"): (
        f"{D}/secret",
        None,
        {ANON: 404, OUTSIDER: 404, MEMBER: 200, PUBLISHER: 200, ADMIN: 200, ROOT: 200},
    ),
    ("PATCH", "/api/v1/datasets/{organisation}/{name}"): (
        f"{D}/open",
        {"title": "Öppen"},
        _writers(200),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions"): (
        f"{D}/open/versions",
        None,
        _all(200),
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions"): (
        f"{D}/open/versions",
        {},
        _writers(201),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}"): (
        f"{D}/open/versions/2",
        None,  # a draft
        {ANON: 404, OUTSIDER: 404, MEMBER: 200, PUBLISHER: 200, ADMIN: 200, ROOT: 200},
    ),
    ("PATCH", "/api/v1/datasets/{organisation}/{name}/versions/{number}"): (
        f"{D}/open/versions/2",
        {"changelog": "x"},
        _draft_writers(200),
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/publish"): (
        f"{D}/open/versions/1/publish",
        None,  # already published: writers get a conflict
        {ANON: 401, OUTSIDER: 403, MEMBER: 403, PUBLISHER: 409, ADMIN: 409, ROOT: 409},
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/withdraw"): (
        f"{D}/open/versions/1/withdraw",
        {"reason": "r"},
        _admins(200),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}/files"): (
        f"{D}/open/versions/1/files",
        None,
        _all(200),
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/files"): (
        f"{D}/open/versions/2/files",
        {"key": "data/x.bin", "format": "bin", "media_type": "application/octet-stream"},
        _draft_writers(201),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}/files/{file_id}"): (
        f"{D}/open/versions/1/files/1",
        None,
        _all(200),
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/upload-url"): (
        f"{D}/open/versions/2/upload-url",
        {"key": "data/y.bin"},
        _draft_writers(200),
    ),
    # Ingestion and jobs: a job and an upload belong to the publisher who made them.
    # Quality: reports follow the version's visibility; reviews are for organisation admins.
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}/reports"): (
        f"{D}/open/versions/1/reports",
        None,
        _all(200),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}/reports/{report_id}"): (
        f"{D}/open/versions/1/reports/1",
        None,
        _all(200),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/versions/{number}/reports/{report_id}/html"): (
        f"{D}/open/versions/1/reports/1/html",
        None,
        _all(200),
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/review"): (
        f"{D}/open/versions/1/review",
        {"decision": "accept", "reason": "r"},
        {ANON: 401, OUTSIDER: 403, MEMBER: 403, PUBLISHER: 403, ADMIN: 409, ROOT: 409},
    ),
    ("POST", "/api/v1/datasets/{organisation}/{name}/versions/{number}/validate"): (
        f"{D}/open/versions/1/validate",
        None,
        _writers(202),
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/suite"): (f"{D}/open/suite", None, _all(200)),
    ("PUT", "/api/v1/datasets/{organisation}/{name}/suite"): (
        f"{D}/open/suite",
        {
            "name": "s",
            "expectations": [
                {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
            ],
        },
        _writers(201),
    ),
    ("POST", "/api/v1/ingest"): (
        "/api/v1/ingest",
        {"upload_ids": ["u" * 32], "dataset": "smhi/open", "licence": "CC0-1.0"},
        {ANON: 401, OUTSIDER: 404, MEMBER: 404, PUBLISHER: 202, ADMIN: 404, ROOT: 202},
    ),
    ("GET", "/api/v1/jobs"): ("/api/v1/jobs", None, {**_all(200), ANON: 401}),
    ("GET", "/api/v1/jobs/{job_id}"): (
        f"/api/v1/jobs/{JOB}",
        None,
        {ANON: 401, OUTSIDER: 404, MEMBER: 404, PUBLISHER: 200, ADMIN: 200, ROOT: 200},
    ),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): (
        f"/api/v1/jobs/{JOB}/cancel",
        None,
        {ANON: 401, OUTSIDER: 404, MEMBER: 404, PUBLISHER: 200, ADMIN: 200, ROOT: 200},
    ),
    ("GET", "/api/v1/datasets/{organisation}/{name}/pipeline"): (
        f"{D}/open/pipeline",
        None,
        _all(200),
    ),
    # Resumable uploads (tus) and the form upload; the tus headers are in REQUEST_EXTRAS.
    ("OPTIONS", "/api/v1/uploads"): ("/api/v1/uploads", None, _all(204)),
    ("GET", "/api/v1/uploads"): ("/api/v1/uploads", None, {**_all(200), ANON: 401}),
    ("POST", "/api/v1/uploads"): ("/api/v1/uploads", None, _writers(201)),
    ("POST", "/api/v1/uploads/form"): ("/api/v1/uploads/form", None, _writers(201)),
    ("HEAD", "/api/v1/uploads/{upload_id}"): (UPLOAD, None, _owner(200)),
    ("GET", "/api/v1/uploads/{upload_id}"): (UPLOAD, None, _owner(200)),
    ("PATCH", "/api/v1/uploads/{upload_id}"): (UPLOAD, None, _owner(204)),
    ("DELETE", "/api/v1/uploads/{upload_id}"): (UPLOAD, None, _owner(204)),
    ("POST", "/api/v1/uploads/{upload_id}"): (UPLOAD, None, _owner(204)),
}
# Request arguments for routes that need more than a JSON body: tus headers, a form.
REQUEST_EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/uploads"): {
        # filename a.csv, dataset smhi/open
        "headers": {
            **TUS,
            "Upload-Length": "3",
            "Upload-Metadata": "filename YS5jc3Y=,dataset c21oaS9vcGVu",
        }
    },
    ("POST", "/api/v1/uploads/form"): {
        "files": {"file": ("a.csv", b"a,b")},
        "data": {"dataset": "smhi/open"},
    },
    ("HEAD", "/api/v1/uploads/{upload_id}"): {"headers": TUS},
    ("PATCH", "/api/v1/uploads/{upload_id}"): {
        "headers": {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    },
    ("DELETE", "/api/v1/uploads/{upload_id}"): {"headers": TUS},
    ("POST", "/api/v1/uploads/{upload_id}"): {
        "headers": {**TUS, "X-HTTP-Method-Override": "DELETE"}
    },
}
# Routes that authorise by a signature in the URL rather than by the caller's identity;
# tests/storage covers them.
SIGNED_URL_ROUTES = {
    ("GET", "/objects/{key}"),
    ("HEAD", "/objects/{key}"),
    ("PUT", "/objects/{key}"),
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every operation the app publishes in its OpenAPI description."""
    for path, item in app.openapi()["paths"].items():
        for method in item:
            yield method.upper(), path


def test_every_route_is_in_the_table(app: FastAPI) -> None:
    assert set(_routes(app)) - SIGNED_URL_ROUTES == set(TABLE)


@pytest.fixture
def tokens(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    smhi = make_org(session, "smhi")
    make_org(session, "scb")
    users = {
        OUTSIDER: make_user(session, "outsider", org=None),
        MEMBER: make_user(session, "member", org=smhi, role=Role.member),
        PUBLISHER: make_user(session, "publisher", org=smhi, role=Role.publisher),
        ADMIN: make_user(session, "admin", org=smhi, role=Role.admin),
        ROOT: make_user(session, "root", sysadmin=True),
    }
    headers = {name: auth(make_token(session, user)) for name, user in users.items()}
    headers[ANON] = {}
    admin = headers[ADMIN]
    for name, visibility in [("open", "public"), ("secret", "private")]:
        assert (
            client.post(
                "/api/v1/datasets",
                headers=admin,
                json={
                    "organisation": "smhi",
                    "name": name,
                    "title": name,
                    "visibility": visibility,
                    "licence": "CC0-1.0",
                },
            ).status_code
            == 201
        )
    assert (
        client.post(
            f"{ORG}/agreements",
            headers=admin,
            json={"name": "base", "title": "Base", "text": "Terms."},
        ).status_code
        == 201
    )
    for number in (1, 2):
        assert client.post(f"{D}/open/versions", headers=admin, json={}).status_code == 201
        for key in ("data/a.bin", "data/x.bin", "data/y.bin"):
            url = client.post(
                f"{D}/open/versions/{number}/upload-url", headers=admin, json={"key": key}
            ).json()["url"]
            parts = urlsplit(url)
            assert client.put(f"{parts.path}?{parts.query}", content=b"x").status_code < 300
    assert (
        client.post(
            f"{D}/open/versions/1/files",
            headers=admin,
            json={
                "key": "data/a.bin",
                "format": "bin",
                "media_type": "application/octet-stream",
            },
        ).status_code
        == 201
    )
    assert client.post(f"{D}/open/versions/1/publish", headers=admin).status_code == 200
    _ingestion_objects(session, users[PUBLISHER].id, smhi.id)
    session.add(
        Upload(
            id=UPLOAD_ID,
            owner_id=users[PUBLISHER].id,
            organisation_id=smhi.id,
            dataset_name="open",
            filename="a.csv",
            length=3,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    session.commit()
    return headers


def _ingestion_objects(session: Session, publisher_id: int, smhi_id: int) -> None:
    """A complete upload and a job of the publisher's, and a stored spec for smhi/open."""
    open_id = session.scalars(select(Dataset.id).where(Dataset.name == "open")).one()
    version_one = session.scalars(
        select(DatasetVersion.id).where(
            DatasetVersion.dataset_id == open_id, DatasetVersion.number == 1
        )
    ).one()
    session.add_all(
        [
            Upload(
                id="u" * 32,
                owner_id=publisher_id,
                organisation_id=smhi_id,
                dataset_name="open",
                filename="a.csv",
                length=1,
                offset=1,
                sha256="0" * 64,
                state=UploadState.complete,
                expires_at=utcnow() + timedelta(days=1),
            ),
            Job(
                id=JOB,
                kind="ingest",
                state=JobState.queued,
                created_by_id=publisher_id,
                payload={"dataset": "smhi/open"},
            ),
            StoredPipelineSpec(dataset_id=open_id, spec={"licence": "CC0-1.0"}, version_number=1),
            DatasetSuite(dataset_id=open_id, version=1, text="expectations: []\n"),
            QualityReport(
                id=1,
                version_id=version_one,
                file_key="data/a.bin",
                kind="quality",
                decision="publish",
                summary={"score": 100.0},
                report=Report(suite="default", source="a", results=()).to_dict(),
            ),
        ]
    )
    session.commit()


def _cases() -> list[tuple[tuple[str, str], tuple[str, ...]]]:
    """Group callers so the suite stays fast: callers that cannot change anything (reads,
    and every caller the table denies) share one test per route; each caller allowed to
    write gets a test of its own, on fresh data."""
    cases = []
    for route, (_, _, expected) in sorted(TABLE.items()):
        if route[0] in {"GET", "HEAD", "OPTIONS"}:  # safe methods change nothing
            cases.append((route, tuple(CALLERS)))
            continue
        cases.append((route, tuple(c for c in CALLERS if expected[c] >= 400)))
        cases.extend((route, (c,)) for c in CALLERS if expected[c] < 400)
    return cases


@pytest.mark.parametrize(
    ("route", "callers"),
    _cases(),
    ids=lambda v: f"{v[0]} {v[1]}" if isinstance(v[0], str) and v[0].isupper() else "+".join(v),
)
def test_route_answers_each_caller_as_the_table_says(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    route: tuple[str, str],
    callers: tuple[str, ...],
) -> None:
    url, body, expected = TABLE[route]
    extras = dict(REQUEST_EXTRAS.get(route, {}))
    extra_headers = extras.pop("headers", {})
    for caller in callers:
        headers = {**extra_headers, **tokens[caller]}
        response = client.request(route[0], url, json=body, headers=headers, **extras)
        assert response.status_code == expected[caller], (caller, response.text)
