"""ORM tables of resumable uploads: one row per upload, one per stored chunk (PATCH body).

The bytes live in the object store under ``staging/{upload_id}/chunks/``; these rows say which
objects make up the upload, in which order, and what they must contain.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base
from catalog.models import NAME_MAX, Organisation, Timestamp, User, utcnow

FILENAME_MAX_BYTES = 255  # NAME_MAX of the common filesystems
METADATA_MAX = 4096  # the Upload-Metadata header as the client sent it, echoed by HEAD


class UploadState(enum.StrEnum):
    receiving = "receiving"  # bytes still expected (or the completion check has not run yet)
    complete = "complete"  # every byte stored and the whole file's sha256 known
    failed = "failed"  # complete, but the file is not what the client said (sha256)


def new_upload_id() -> str:
    # 128 random bits: upload URLs are unguessable, although they are also owner-checked.
    return secrets.token_hex(16)


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_upload_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The target dataset need not exist yet, so it is the organisation plus a name.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    dataset_name: Mapped[str] = mapped_column(String(NAME_MAX))
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX_BYTES))  # bytes >= characters
    content_type: Mapped[str | None] = mapped_column(String(200))
    # None while the client defers the length (tus creation-defer-length).
    length: Mapped[int | None] = mapped_column(BigInteger)
    # "offset" is an SQL keyword; the column is named so that hand-written SQL needs no quotes.
    offset: Mapped[int] = mapped_column("upload_offset", BigInteger, default=0)
    metadata_header: Mapped[str] = mapped_column(Text, default="")
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[UploadState] = mapped_column(
        Enum(
            UploadState,
            name="upload_state",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=UploadState.receiving,
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # When expire_uploads() may delete it: last activity + expiry while receiving, completion +
    # retention once complete. One column, so the sweep is one indexed range query.
    expires_at: Mapped[datetime] = mapped_column(Timestamp(), index=True)

    owner: Mapped[User] = relationship()
    organisation: Mapped[Organisation] = relationship()
    chunks: Mapped[list[UploadChunk]] = relationship(
        back_populates="upload",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="UploadChunk.start",
    )

    @property
    def dataset(self) -> str:
        return f"{self.organisation.name}/{self.dataset_name}"

    @property
    def is_complete(self) -> bool:
        return self.state is UploadState.complete


class UploadChunk(Base):
    """The body of one PATCH, stored as one object; chunks tile the upload without gaps."""

    __tablename__ = "upload_chunks"

    upload_id: Mapped[str] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    # Part of the key, so two chunks can never claim the same start.
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)

    upload: Mapped[Upload] = relationship(back_populates="chunks")
