"""/api/v1/jobs: status, progress and log of the caller's jobs; cancellation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.deps import CurrentPrincipal, SessionDep
from catalog.errors import NotFound
from catalog.models import Organisation
from catalog.principal import Principal, denied
from catalog.routes.paging import PageDep
from ingest.jobs.models import Job, JobLog, JobState
from ingest.jobs.queue import cancel, get_job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
LOG_TAIL = 200


class JobLogLine(BaseModel):
    at: datetime
    level: str
    message: str


class JobPublic(BaseModel):
    id: str
    kind: str
    state: JobState
    dataset: str | None
    progress: float
    progress_message: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: Any
    error: Any
    log: list[JobLogLine]


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


def _organisation_name(job: Job) -> str | None:
    dataset = job.payload.get("dataset") if isinstance(job.payload, dict) else None
    return dataset.split("/", 1)[0] if isinstance(dataset, str) else None


def _may_see(session: Session, principal: Principal, job: Job) -> bool:
    if principal.is_sysadmin or (
        principal.user_id is not None and job.created_by_id == principal.user_id
    ):
        return True
    org_name = _organisation_name(job)
    if org_name is None:
        return False
    org_id = session.scalar(select(Organisation.id).where(Organisation.name == org_name))
    return org_id is not None and principal.can_administer(org_id)


def _visible_job(session: Session, principal: Principal, job_id: str) -> Job:
    if not principal.is_authenticated:
        raise denied(principal, "jobs belong to the users who submit them")
    job = get_job(session, job_id)
    if not _may_see(session, principal, job):
        raise NotFound(f"no job {job_id!r}", field="job")  # do not reveal others' jobs
    return job


def job_public(session: Session, job: Job) -> JobPublic:
    lines = session.scalars(
        select(JobLog).where(JobLog.job_id == job.id).order_by(JobLog.id.desc()).limit(LOG_TAIL)
    ).all()
    dataset = job.payload.get("dataset") if isinstance(job.payload, dict) else None
    return JobPublic(
        id=job.id,
        kind=job.kind,
        state=job.state,
        dataset=dataset,
        progress=job.progress,
        progress_message=job.progress_message,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=job.result,
        error=job.error,
        log=[JobLogLine(at=ln.at, level=ln.level, message=ln.message) for ln in reversed(lines)],
    )


@router.get("")
def list_jobs(session: SessionDep, principal: CurrentPrincipal, page: PageDep) -> JobsPublic:
    """The caller's own jobs, newest first (all jobs for a system administrator)."""
    if not principal.is_authenticated:
        raise denied(principal, "jobs belong to the users who submit them")
    query = select(Job).order_by(Job.created_at.desc(), Job.id)
    if not principal.is_sysadmin:
        query = query.where(Job.created_by_id == principal.user_id)
    jobs = session.scalars(query.offset(page.offset).limit(page.page_size)).all()
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return JobsPublic(data=[job_public(session, j) for j in jobs], count=count)


@router.get("/{job_id}")
def read_job(job_id: str, session: SessionDep, principal: CurrentPrincipal) -> JobPublic:
    return job_public(session, _visible_job(session, principal, job_id))


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, session: SessionDep, principal: CurrentPrincipal) -> JobPublic:
    """Stop a job: a queued one never starts, a running one stops at its next lease renewal."""
    job = cancel(session, job=_visible_job(session, principal, job_id))
    return job_public(session, job)
