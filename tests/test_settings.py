"""Settings: defaults, environment variables, and the placeholder-secret guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from catalog.settings import Settings


def test_embedded_defaults_live_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAHAMN_HOME", str(tmp_path))
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'datahamn.db'}"
    assert settings.resolved_storage_url == (tmp_path / "objects").as_uri()


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAHAMN_DATABASE_URL", "postgresql+psycopg://u@db/x")
    monkeypatch.setenv("DATAHAMN_STORAGE_URL", "s3://bucket/prefix")
    monkeypatch.setenv("DATAHAMN_S3_SECRET_KEY", "s3cr3t")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/x"
    assert settings.resolved_storage_url == "s3://bucket/prefix"
    assert "s3cr3t" not in repr(settings)  # secrets never reach logs through repr


def test_production_refuses_the_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAHAMN_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="DATAHAMN_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("DATAHAMN_SECRET_KEY", "")
    with pytest.raises(ValidationError, match="DATAHAMN_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("DATAHAMN_SECRET_KEY", "a-real-secret-of-some-length-1234567890")
    assert Settings().environment == "production"


def test_development_accepts_the_placeholder() -> None:
    assert Settings(environment="development").secret_key.get_secret_value() == "change-me"
