"""Service settings, read from the environment with the prefix ``DATAHAMN_``.

Every field here is documented in ``docs/configuration.md``; a test fails when one is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the placeholder we refuse, not a secret


class Settings(BaseSettings):
    """What the service and the worker need to start."""

    model_config = SettingsConfigDict(env_prefix="DATAHAMN_", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        default="development",
        description="development allows the placeholder secret key; production refuses it.",
    )
    home: Path = Field(
        default=Path(".datahamn"),
        description="Directory for the embedded defaults: SQLite file and local objects.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///{HOME}/datahamn.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    storage_url: str | None = Field(
        default=None,
        description="file:///path (default file://{HOME}/objects) or s3://bucket[/prefix].",
    )
    s3_endpoint: str = Field(
        default="127.0.0.1:9000", description="host:port of the S3 server (for s3:// storage)."
    )
    s3_region: str = Field(default="us-east-1", description="S3 region name.")
    s3_access_key: str = Field(default="", description="S3 access key id.")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key.")
    s3_secure: bool = Field(default=False, description="Use HTTPS to reach the S3 server.")
    secret_key: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_SECRET),
        description="Signs local object URLs; must be changed outside development.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of the service, used in signed URLs and links.",
    )
    signed_url_max_seconds: int = Field(
        default=3600, ge=1, le=7 * 24 * 3600, description="Longest expiry of a signed URL."
    )
    embedded_workers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Job workers inside `datahamn serve`; 0 when `datahamn worker` runs apart.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    upload_max_bytes: int = Field(
        default=10_737_418_240, ge=0, description="Largest resumable (tus) upload, in bytes."
    )
    upload_form_max_bytes: int = Field(
        default=104_857_600, ge=0, description="Largest plain multipart form upload, in bytes."
    )
    upload_expiry_hours: int = Field(
        default=24, ge=1, description="An unfinished upload expires this long after its last PATCH."
    )
    upload_retention_hours: int = Field(
        default=168, ge=1, description="A complete upload not yet ingested is kept this long."
    )
    rejected_retention_hours: int = Field(
        default=168,
        ge=1,
        description="A rejected version's objects are kept this long for inspection.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() in {
            PLACEHOLDER_SECRET,
            "",
        }:
            raise ValueError(
                "DATAHAMN_SECRET_KEY is the placeholder; set a real secret outside development"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home.resolve() / 'datahamn.db'}"

    @property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.home.resolve() / "objects").as_uri()
