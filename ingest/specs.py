"""Pipeline specs: how a dataset is ingested (format options, licence, suite, metadata),
stored with the dataset so next month's file goes through the same steps with one command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base
from catalog.models import Timestamp, Visibility, utcnow
from catalog.schemas import Description, Slug, Tag, Title


class PipelineSpec(BaseModel):
    """Everything an ingestion needs besides the file. Stored as JSON; unknown keys refused."""

    model_config = ConfigDict(extra="forbid")

    licence: str | None = Field(
        default=None, max_length=100, description="an SPDX id from /api/v1/licences"
    )
    agreement: Slug | None = Field(
        default=None, description="a data-sharing agreement registered by the organisation"
    )
    attribution: str | None = Field(default=None, max_length=10_000)
    title: Title | None = None
    description: Description | None = None
    visibility: Visibility | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    format_options: dict[str, Any] = Field(default_factory=dict)
    key_columns: list[str] | None = Field(
        default=None,
        max_length=20,
        description="columns that identify a row: checked unique and non-null",
    )
    accept_schema_change: bool = False
    changelog: Description = ""

    def merged_over(self, stored: PipelineSpec | None) -> PipelineSpec:
        """This spec with the gaps filled from the stored one (a re-run names only changes).

        A changelog and an acceptance of schema changes are per run, never inherited."""
        if stored is None:
            return self
        given = self.model_dump(exclude_unset=True)
        base = stored.model_dump(exclude={"changelog", "accept_schema_change"})
        return PipelineSpec.model_validate({**base, **given})


class StoredPipelineSpec(Base):
    __tablename__ = "pipeline_specs"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    # The version whose successful ingestion stored this spec.
    version_number: Mapped[int] = mapped_column(Integer)


def load_spec(session: Session, dataset_id: int) -> PipelineSpec | None:
    row = session.get(StoredPipelineSpec, dataset_id)
    return PipelineSpec.model_validate(row.spec) if row else None


def save_spec(
    session: Session,
    *,
    dataset_id: int,
    spec: PipelineSpec,
    user_id: int | None,
    version_number: int,
) -> None:
    row = session.get(StoredPipelineSpec, dataset_id)
    data = spec.model_dump(mode="json", exclude={"changelog", "accept_schema_change"})
    if row is None:
        session.add(
            StoredPipelineSpec(
                dataset_id=dataset_id,
                spec=data,
                updated_by_id=user_id,
                version_number=version_number,
            )
        )
    else:
        row.spec, row.updated_by_id, row.updated_at = data, user_id, utcnow()
        row.version_number = version_number
    session.flush()
