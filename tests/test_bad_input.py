"""Hostile and malformed input: always a 4xx envelope naming the field, never a 500, and
never a changed row."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Dataset, Organisation
from tests.factories import auth, make_org, make_token, make_user


@pytest.fixture
def token(session: Session) -> str:
    org = make_org(session, "smhi")
    return make_token(session, make_user(session, "alice", org=org))


def _valid() -> dict[str, Any]:
    return {"organisation": "smhi", "name": "ok-name", "title": "A title"}


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {**_valid(), "colour": "blue"}, "body.colour"),
    ("long title", {**_valid(), "title": "x" * 201}, "body.title"),
    ("empty title", {**_valid(), "title": "   "}, "body.title"),
    ("upper-case slug", {**_valid(), "name": "Bad"}, "body.name"),
    ("slug with slash", {**_valid(), "name": "a/b"}, "body.name"),
    ("slug traversal", {**_valid(), "name": ".."}, "body.name"),
    ("one-char slug", {**_valid(), "name": "a"}, "body.name"),
    ("long slug", {**_valid(), "name": "a" * 101}, "body.name"),
    ("bad visibility", {**_valid(), "visibility": "secret"}, "body.visibility"),
    ("bad email", {**_valid(), "contact_email": "not-an-email"}, "body.contact_email"),
    ("bad homepage", {**_valid(), "homepage": "javascript:alert(1)"}, "body.homepage"),
    ("bad date", {**_valid(), "temporal_start": "2015-13-45"}, "body.temporal_start"),
    ("tags not a list", {**_valid(), "tags": "weather"}, "body.tags"),
    ("too many tags", {**_valid(), "tags": [f"t{i}" for i in range(51)]}, "body.tags"),
    ("missing title", {"organisation": "smhi", "name": "x1"}, "body.title"),
    ("wrong type", {**_valid(), "contains_personal_data": "maybe"}, "body.contains_personal_data"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_dataset_bodies(
    client: TestClient, session: Session, token: str, case: str, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/datasets", headers=auth(token), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    session.expire_all()
    assert session.scalar(select(func.count(Dataset.id))) == 0


def test_non_object_json_bodies(client: TestClient, token: str) -> None:
    for raw in [b"[]", b"null", b"42", b'"text"', b"\xff\xfe", b"{" * 10_000]:
        response = client.post(
            "/api/v1/datasets",
            headers={**auth(token), "Content-Type": "application/json"},
            content=raw,
        )
        assert response.status_code == 422, (raw[:10], response.text)


def test_duplicate_dataset_name(client: TestClient, token: str, session: Session) -> None:
    assert client.post("/api/v1/datasets", headers=auth(token), json=_valid()).status_code == 201
    response = client.post(
        "/api/v1/datasets", headers=auth(token), json={**_valid(), "title": "Other"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "name"
    session.expire_all()
    assert session.scalars(select(Dataset.title)).all() == ["A title"]


HOSTILE_QUERIES = [
    '"',
    "'",
    "*",
    "OR",
    "a OR b",
    "NEAR(a b)",
    "NEAR",
    "--",
    "'; DROP TABLE datasets; --",
    "((",
    "))",
    "(a",
    'title:"x',
    "^a",
    "a -b",
    "\x00",
    "AND AND",
    "😀",
    "ö" * 500,
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_search_queries(client: TestClient, session: Session, query: str) -> None:
    org = make_org(session, "scb")
    token = make_token(session, make_user(session, "bo", org=org))
    client.post(
        "/api/v1/datasets",
        headers=auth(token),
        json={
            "organisation": "scb",
            "name": "befolkning",
            "title": "Befolkning OR NEAR",
            "visibility": "public",
        },
    )
    response = client.get("/api/v1/datasets", params={"q": query})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["count"], int)
    session.expire_all()
    assert session.scalar(select(func.count(Dataset.id))) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 0},
        {"page_size": 101},
        {"page": 0},
        {"page": -1},
        {"page": "x"},
        {"sort": "random"},
        {"visibility": "secret"},
        {"personal_data": "maybe"},
        {"q": "x" * 501},
    ],
)
def test_out_of_range_listing_parameters(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/api/v1/datasets", params=params)
    assert response.status_code == 422, response.text
    field = response.json()["error"]["details"][0]["field"]
    assert field.startswith(f"query.{next(iter(params))}")


def test_other_organisations_objects_are_out_of_reach(
    client: TestClient, session: Session, token: str
) -> None:
    scb = make_org(session, "scb")
    scb_token = make_token(session, make_user(session, "bo", org=scb))
    assert (
        client.post(
            "/api/v1/datasets",
            headers=auth(scb_token),
            json={"organisation": "scb", "name": "hidden", "title": "Hidden"},
        ).status_code
        == 201
    )
    # alice (smhi) can neither read scb's private dataset nor write into scb.
    assert client.get("/api/v1/datasets/scb/hidden", headers=auth(token)).status_code == 404
    assert (
        client.patch(
            "/api/v1/datasets/scb/hidden", headers=auth(token), json={"title": "mine"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/datasets",
            headers=auth(token),
            json={"organisation": "scb", "name": "planted", "title": "x"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/datasets/scb/hidden/versions", headers=auth(token), json={}
        ).status_code
        == 404
    )
    session.expire_all()
    assert session.scalars(select(Dataset.title)).all() == ["Hidden"]


def test_bad_organisation_bodies(client: TestClient, session: Session) -> None:
    root = make_token(session, make_user(session, "root", sysadmin=True))
    for body, field in [
        ({"name": "a b", "title": "x"}, "body.name"),
        ({"name": "ok", "title": "x" * 300}, "body.title"),
        ({"name": "ok", "title": "x", "extra": 1}, "body.extra"),
    ]:
        response = client.post("/api/v1/organisations", headers=auth(root), json=body)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["field"] == field
    session.expire_all()
    assert session.scalar(select(func.count(Organisation.id))) == 0


def test_malformed_authorization_headers(client: TestClient) -> None:
    for header in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "token", "Bearer a b"]:
        response = client.get("/api/v1/datasets", headers={"Authorization": header})
        assert response.status_code == 401, header
