"""Queue operations: enqueue, claim with a lease, renew, finish, log.

Claiming is a compare-and-set: pick a candidate (PostgreSQL skips rows other workers have
locked, so N workers do not queue up behind one row), then UPDATE it only if it is still
claimable. Whoever's UPDATE changes the row owns the job; the others look again. The same
code is correct on SQLite, where writers are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Update, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import NotFound
from catalog.models import DatasetVersion, VersionState, utcnow
from ingest.jobs.models import FINISHED, Job, JobLog, JobState

LOG_LINE_MAX = 4000


def _changed(session: Session, statement: Update) -> int:
    """Rows an UPDATE changed (the compare-and-set outcome)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    created_by_id: int | None,
    max_attempts: int = 3,
) -> Job:
    job = Job(
        kind=kind,
        state=JobState.queued,
        payload=payload,
        created_by_id=created_by_id,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


def _claimable(now: datetime) -> Any:
    return or_(
        (Job.state == JobState.queued) & or_(Job.run_after.is_(None), Job.run_after <= now),
        (Job.state == JobState.running) & (Job.lease_expires_at < now),
    )


def claim(
    factory: sessionmaker[Session],
    *,
    worker_id: str,
    kinds: Sequence[str],
    lease: timedelta,
    now: datetime | None = None,
) -> Job | None:
    """Take the oldest claimable job of one of ``kinds``, or None when there is none."""
    for _ in range(5):  # a lost race means another worker took that row: look again
        with factory() as session, session.begin():
            now_ = now or utcnow()
            query = (
                select(Job.id)
                .where(Job.kind.in_(kinds), _claimable(now_))
                .order_by(Job.created_at, Job.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job_id = session.scalar(query)
            if job_id is None:
                return None
            changed = _changed(
                session,
                update(Job)
                .where(Job.id == job_id, _claimable(now_))
                .values(
                    state=JobState.running,
                    worker_id=worker_id,
                    lease_expires_at=now_ + lease,
                    attempts=Job.attempts + 1,
                    started_at=now_,
                ),
            )
            if changed == 1:
                job = session.get_one(Job, job_id)
                session.refresh(job)
                return job
    return None


def renew(factory: sessionmaker[Session], *, job_id: str, worker_id: str, lease: timedelta) -> bool:
    """Extend the lease; False means the job is no longer ours (lease lost or cancelled)."""
    with factory() as session, session.begin():
        changed = _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running)
            .values(lease_expires_at=utcnow() + lease),
        )
    return changed == 1


def finish(
    factory: sessionmaker[Session],
    *,
    job_id: str,
    worker_id: str,
    state: JobState,
    result: Any = None,
    error: Any = None,
) -> bool:
    """Record the outcome if the job is still ours; False if another worker took it over."""
    assert state in FINISHED
    with factory() as session, session.begin():
        changed = _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running)
            .values(
                state=state,
                result=result,
                error=error,
                finished_at=utcnow(),
                lease_expires_at=None,
                progress=1.0 if state is JobState.succeeded else Job.progress,
            ),
        )
    return changed == 1


def retry_later(
    factory: sessionmaker[Session],
    *,
    job_id: str,
    worker_id: str,
    delay: timedelta,
    error: Any,
) -> bool:
    """Put a job that failed for a passing reason back in the queue, after ``delay``."""
    with factory() as session, session.begin():
        changed = _changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.worker_id == worker_id, Job.state == JobState.running)
            .values(
                state=JobState.queued,
                worker_id=None,
                lease_expires_at=None,
                run_after=utcnow() + delay,
                error=error,
            ),
        )
    return changed == 1


def fail_exhausted(factory: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """Fail jobs whose lease ran out after their last allowed attempt (workers kept dying),
    and reject the version such a job was making, so nothing is left half-done."""
    now_ = now or utcnow()
    with factory() as session, session.begin():
        exhausted = (
            (Job.state == JobState.running)
            & (Job.lease_expires_at < now_)
            & (Job.attempts >= Job.max_attempts)
        )
        version_ids = [v for v in session.scalars(select(Job.version_id).where(exhausted)) if v]
        if version_ids:
            session.execute(
                update(DatasetVersion)
                .where(
                    DatasetVersion.id.in_(version_ids),
                    DatasetVersion.state.in_([VersionState.draft, VersionState.validating]),
                )
                .values(
                    state=VersionState.rejected,
                    state_reason="the ingestion job's worker stopped on every attempt",
                )
                .execution_options(synchronize_session=False)
            )
        return _changed(
            session,
            update(Job)
            .where(exhausted)
            .values(
                state=JobState.failed,
                finished_at=now_,
                lease_expires_at=None,
                error={
                    "problem": "worker-lost",
                    "message": "the job's worker stopped responding on every attempt",
                },
            ),
        )


def set_progress(
    factory: sessionmaker[Session], *, job_id: str, fraction: float, message: str
) -> None:
    with factory() as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(progress=max(0.0, min(1.0, fraction)), progress_message=message[:500])
            .execution_options(synchronize_session=False)
        )


def log(factory: sessionmaker[Session], *, job_id: str, message: str, level: str = "info") -> None:
    with factory() as session, session.begin():
        session.add(JobLog(job_id=job_id, level=level, message=message[:LOG_LINE_MAX]))


def cancel(session: Session, *, job: Job) -> Job:
    """A queued job never starts; a running one is told to stop at its next lease renewal."""
    if job.state not in FINISHED:
        job.state = JobState.cancelled
        job.finished_at = utcnow()
        job.lease_expires_at = None
        session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}", field="job")
    return job
