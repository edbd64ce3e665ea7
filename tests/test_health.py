"""Liveness and readiness: /readyz names what is down and answers 503."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

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
