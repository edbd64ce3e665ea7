"""The worker: claims jobs, runs their handler with a renewed lease, records the outcome.

Outcomes of a handler call:
    returns a dict          -> succeeded, the dict is the job's result
    raises JobFailed        -> failed for good (bad input: retrying cannot help)
    raises LeaseLost        -> another worker owns the job now (or it was cancelled): stop
    raises anything else    -> retried after a back-off while attempts remain, else failed
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from catalog.storage.base import ObjectStore
from ingest.jobs import queue
from ingest.jobs.models import Job, JobState

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """A permanent failure, described for the person who submitted the job."""

    def __init__(self, problem: str, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
        self.location = location

    def as_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "message": self.message, "location": self.location}


class LeaseLost(Exception):
    """The job is no longer ours: stop without recording anything."""


@dataclass
class JobContext:
    """What a handler gets: its payload and ways to report progress and stay in charge."""

    job_id: str
    payload: Mapping[str, Any]
    attempt: int
    max_attempts: int
    version_id: int | None
    factory: sessionmaker[Session]
    store: ObjectStore
    worker_id: str
    _lost: threading.Event = field(default_factory=threading.Event)

    def progress(self, fraction: float, message: str) -> None:
        self.check()
        queue.set_progress(self.factory, job_id=self.job_id, fraction=fraction, message=message)

    def log(self, message: str, level: str = "info") -> None:
        queue.log(self.factory, job_id=self.job_id, message=message, level=level)

    def check(self) -> None:
        """Raise LeaseLost if another worker took the job over or it was cancelled."""
        if self._lost.is_set():
            raise LeaseLost(self.job_id)

    def record_version(self, session: Session, version_id: int) -> None:
        """Remember the version this job makes, in the caller's transaction."""
        session.execute(
            update(Job)
            .where(Job.id == self.job_id)
            .values(version_id=version_id)
            .execution_options(synchronize_session=False)
        )
        self.version_id = version_id


Handler = Callable[[JobContext], dict[str, Any]]


class Worker:
    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        store: ObjectStore,
        handlers: Mapping[str, Handler],
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: float = 1.0,
        retry_delay: timedelta = timedelta(seconds=30),
        housekeeping: Callable[[], None] | None = None,
        housekeeping_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self.factory = factory
        self.store = store
        self.handlers = dict(handlers)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.lease = lease
        self.poll_interval = poll_interval
        self.retry_delay = retry_delay
        self.housekeeping = housekeeping
        self.housekeeping_every = housekeeping_every

    def run(self, stop: threading.Event) -> None:
        """Drain the queue until ``stop`` is set; sleeps ``poll_interval`` when idle, and
        calls ``housekeeping`` every ``housekeeping_every`` between jobs."""
        log.info("worker %s started (%s)", self.worker_id, ", ".join(self.handlers))
        next_housekeeping = time.monotonic()
        while not stop.is_set():
            if self.housekeeping is not None and time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + self.housekeeping_every.total_seconds()
                try:
                    self.housekeeping()
                except Exception:  # never let housekeeping stop the worker
                    log.exception("worker %s: housekeeping failed", self.worker_id)
            try:
                worked = self.run_once()
            except Exception:  # the database may be restarting: keep the worker alive
                log.exception("worker %s: queue unavailable", self.worker_id)
                worked = False
            if not worked:
                stop.wait(self.poll_interval)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self) -> bool:
        """Run at most one job; True if there was one."""
        queue.fail_exhausted(self.factory)
        job = queue.claim(
            self.factory, worker_id=self.worker_id, kinds=list(self.handlers), lease=self.lease
        )
        if job is None:
            return False
        if job.attempts > job.max_attempts:
            queue.finish(
                self.factory,
                job_id=job.id,
                worker_id=self.worker_id,
                state=JobState.failed,
                error={
                    "problem": "worker-lost",
                    "message": "the job's worker stopped on every attempt",
                },
            )
            return True
        context = JobContext(
            job_id=job.id,
            payload=job.payload,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            version_id=job.version_id,
            factory=self.factory,
            store=self.store,
            worker_id=self.worker_id,
        )
        stop_heartbeat = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat,
            args=(context, stop_heartbeat),
            name=f"lease-{job.id[:8]}",
            daemon=True,
        )
        heartbeat.start()
        try:
            self._execute(job, context)
        finally:
            stop_heartbeat.set()
            heartbeat.join()
        return True

    def _execute(self, job: Job, context: JobContext) -> None:
        handler = self.handlers[job.kind]
        try:
            result = handler(context)
        except LeaseLost:
            log.warning("job %s: lease lost; another worker continues it", job.id)
        except JobFailed as exc:
            context.log(f"failed: {exc.message}", level="error")
            queue.finish(
                self.factory,
                job_id=job.id,
                worker_id=self.worker_id,
                state=JobState.failed,
                error=exc.as_dict(),
            )
        except Exception as exc:
            log.exception("job %s: attempt %d failed", job.id, job.attempts)
            error = {
                "problem": "internal-error",
                "location": None,
                "message": f"{type(exc).__name__}: {exc}"[:1000],
            }
            if job.attempts < job.max_attempts:
                context.log(
                    f"attempt {job.attempts} failed ({error['message']}); "
                    f"retrying in {self.retry_delay.total_seconds():.0f} s",
                    level="warning",
                )
                queue.retry_later(
                    self.factory,
                    job_id=job.id,
                    worker_id=self.worker_id,
                    delay=self.retry_delay,
                    error=error,
                )
            else:
                context.log(f"failed: {error['message']}", level="error")
                queue.finish(
                    self.factory,
                    job_id=job.id,
                    worker_id=self.worker_id,
                    state=JobState.failed,
                    error=error,
                )
        else:
            queue.finish(
                self.factory,
                job_id=job.id,
                worker_id=self.worker_id,
                state=JobState.succeeded,
                result=result,
            )

    def _heartbeat(self, context: JobContext, stop: threading.Event) -> None:
        interval = self.lease.total_seconds() / 3
        while not stop.wait(interval):
            try:
                if not queue.renew(
                    self.factory, job_id=context.job_id, worker_id=self.worker_id, lease=self.lease
                ):
                    context._lost.set()
                    return
            except Exception:  # a passing database error: try again next beat
                log.warning("job %s: lease renewal failed", context.job_id, exc_info=True)
