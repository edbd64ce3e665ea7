"""Every error, whatever raised it, has the same JSON shape (the envelope)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import auth, make_org, make_token, make_user


def assert_envelope(body: Any, code: str) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert set(detail) == {"field", "message"}


def test_not_found_route(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert_envelope(response.json(), "not-found")


def test_domain_not_found_names_the_field(client: TestClient) -> None:
    response = client.get("/api/v1/organisations/nobody")
    assert response.status_code == 404
    assert_envelope(response.json(), "not-found")
    assert response.json()["error"]["details"][0]["field"] == "organisation"


def test_method_not_allowed(client: TestClient) -> None:
    response = client.delete("/api/v1/licences")
    assert response.status_code == 405
    assert_envelope(response.json(), "method-not-allowed")


def test_malformed_json(client: TestClient, session: Session) -> None:
    admin = make_user(session, "root", sysadmin=True)
    response = client.post(
        "/api/v1/organisations",
        content=b'{"name": "x",',
        headers={**auth(make_token(session, admin)), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert_envelope(response.json(), "invalid-input")
    assert response.json()["error"]["message"] == "the request body is not valid JSON"


def test_validation_error_names_the_field(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    user = make_user(session, "alice", org=org)
    response = client.post(
        "/api/v1/datasets",
        json={"organisation": "smhi", "name": "Bad Name!", "title": "x"},
        headers=auth(make_token(session, user)),
    )
    assert response.status_code == 422
    assert_envelope(response.json(), "invalid-input")
    assert [d["field"] for d in response.json()["error"]["details"]] == ["body.name"]


def test_unauthenticated_has_www_authenticate(client: TestClient) -> None:
    response = client.get("/api/v1/users/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert_envelope(response.json(), "not-authenticated")


def test_conflict(client: TestClient, session: Session) -> None:
    make_org(session, "smhi")
    admin = make_user(session, "root", sysadmin=True)
    response = client.post(
        "/api/v1/organisations",
        json={"name": "smhi", "title": "again"},
        headers=auth(make_token(session, admin)),
    )
    assert response.status_code == 409
    assert_envelope(response.json(), "conflict")
    assert response.json()["error"]["details"][0]["field"] == "name"
