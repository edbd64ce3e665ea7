"""ORM tables of the catalog domain: organisations, users and memberships, licences and
agreements, datasets, versions and files.

Search tables (the full-text index and its change log) are engine-specific and live in the
migrations and ``catalog.search``.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from catalog.db import Base

NAME_MAX = 100
TITLE_MAX = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(enum.StrEnum):
    admin = "admin"
    publisher = "publisher"
    member = "member"


class Visibility(enum.StrEnum):
    public = "public"
    partners = "partners"
    restricted = "restricted"
    private = "private"


class VersionState(enum.StrEnum):
    draft = "draft"
    validating = "validating"
    needs_review = "needs-review"
    published = "published"
    rejected = "rejected"
    withdrawn = "withdrawn"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: readable in SQL and the same on both engines.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class Timestamp(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both engines: SQLite stores them without a zone, so
    values are written in UTC and read back with UTC attached."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    is_sysadmin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class Licence(Base):
    """An SPDX licence from the list shipped with the project (loaded by migrations)."""

    __tablename__ = "licences"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500))
    osi_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    fsf_libre: Mapped[bool] = mapped_column(Boolean, default=False)
    open_data: Mapped[bool] = mapped_column(Boolean, default=False)
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)


class Agreement(Base):
    """A custom data-sharing agreement an organisation registers; each text is a version."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("organisation_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "visibility"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    homepage: Mapped[str | None] = mapped_column(String(500))
    licence_id: Mapped[str | None] = mapped_column(ForeignKey("licences.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    # Provenance.
    source: Mapped[str | None] = mapped_column(Text)
    collection_method: Mapped[str | None] = mapped_column(Text)
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial_coverage: Mapped[str | None] = mapped_column(String(500))
    contains_personal_data: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    personal_data_legal_basis: Mapped[str | None] = mapped_column(Text)
    # Summary of the latest published version's quality reports (catalog.quality).
    quality_status: Mapped[str | None] = mapped_column(String(20), index=True)
    quality_score: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow, index=True)

    organisation: Mapped[Organisation] = relationship()
    licence: Mapped[Licence | None] = relationship()
    agreement: Mapped[Agreement | None] = relationship()
    tag_rows: Mapped[list[DatasetTag]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetTag.tag"
    )
    theme_rows: Mapped[list[DatasetTheme]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetTheme.theme"
    )
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="DatasetVersion.number"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def themes(self) -> list[str]:
        return [row.theme for row in self.theme_rows]


class DatasetTag(Base):
    __tablename__ = "dataset_tags"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True, index=True)


class DatasetTheme(Base):
    __tablename__ = "dataset_themes"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True, index=True)


class DatasetVersion(Base):
    """An immutable, numbered version; only its state moves (and only forward)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number"),
        Index("ix_dataset_versions_dataset_id_state", "dataset_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[VersionState] = mapped_column(_enum(VersionState, "version_state"), index=True)
    changelog: Mapped[str] = mapped_column(Text, default="")
    licence_id: Mapped[str | None] = mapped_column(ForeignKey("licences.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    attribution: Mapped[str | None] = mapped_column(Text)
    state_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # When the objects of a rejected version were deleted after the retention period.
    objects_purged_at: Mapped[datetime | None] = mapped_column(Timestamp())

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    files: Mapped[list[DatasetFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="DatasetFile.key"
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])


class DatasetFile(Base):
    __tablename__ = "dataset_files"
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        Index("ix_dataset_files_version_id_format", "version_id", "format"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1000))
    role: Mapped[str] = mapped_column(String(20), default="data")
    format: Mapped[str] = mapped_column(String(50), index=True)
    media_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    arrow_schema: Mapped[Any | None] = mapped_column(JSON)
    column_stats: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    version: Mapped[DatasetVersion] = relationship(back_populates="files")
