"""Liveness and readiness: /readyz names what is down and answers 503."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from catalog.settings import Settings
from datahamn.app import create_app


def test_ready_when_everything_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "object_store": "ok"}}


def test_not_ready_without_the_object_store(client: TestClient, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "objects")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "object_store": "unavailable"}
    assert client.get("/healthz").status_code == 200


def test_not_ready_without_the_database(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    settings = Settings(
        environment="test",
        home=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        storage_url=(tmp_path / "objects").as_uri(),
    )
    app = create_app(settings, upgrade_on_start=False)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "object_store": "ok"}
    assert "nobody" not in response.text  # connection details never reach the client


def _terminate_backends(url: str) -> int:
    """End every other session of the database (as a restart or failover would) and wait
    until they are gone; the number ended."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_requests_recover_when_the_database_drops_pooled_connections(
    client: TestClient, db_url: str
) -> None:
    # The pool does not ping on checkout (catalog.db): a connection the server has closed
    # must still never reach a request.
    assert client.get("/api/v1/datasets").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert _terminate_backends(db_url) >= 1

    search = client.get("/api/v1/datasets", params={"q": "anything"})
    assert search.status_code == 200, search.text
    assert search.json()["count"] == 0
    assert client.get("/readyz").json()["checks"]["database"] == "ok"
    assert client.get("/api/v1/datasets").status_code == 200
