"""One ingestion job's inputs, shared by its steps (``ingest.prepare``, ``ingest.pipeline``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.models import User
from catalog.principal import Principal
from catalog.users import principal_for_user
from ingest.jobs.worker import JobContext
from ingest.specs import PipelineSpec


@dataclass
class IngestRun:
    ctx: JobContext
    spec: PipelineSpec
    uploads: list[tuple[str, str]]  # (upload id, file name), in the order given
    organisation: str
    dataset_name: str
    user_id: int


def run_principal(session: Session, run: IngestRun) -> Principal:
    return principal_for_user(session, session.get_one(User, run.user_id))
