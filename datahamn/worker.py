"""The worker process (and the embedded worker inside ``datahamn serve``): the job handlers
of every package, plus periodic housekeeping."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from catalog.models import utcnow
from catalog.search.changes import compact_changes
from catalog.storage.base import ObjectStore
from catalog.versions import purge_rejected
from ingest.jobs.worker import Handler, Worker
from ingest.pipeline import JOB_KIND as INGEST
from ingest.pipeline import run_ingest_job
from ingest.revalidate import JOB_KIND as VALIDATE
from ingest.revalidate import run_validate_job
from ingest.uploads.cleanup import expire_uploads

log = logging.getLogger(__name__)
HOUSEKEEPING_EVERY = timedelta(minutes=5)
REJECTED_RETENTION = timedelta(hours=168)


def handlers() -> dict[str, Handler]:
    return {INGEST: run_ingest_job, VALIDATE: run_validate_job}


def housekeeping(
    factory: sessionmaker[Session],
    store: ObjectStore,
    *,
    rejected_retention: timedelta = REJECTED_RETENTION,
) -> None:
    """Expire abandoned uploads; delete the objects of versions rejected longer ago than the
    retention; empty the search change log once it is long. Safe to run from several
    workers at once."""
    with factory() as session:
        removed = expire_uploads(session, store, now=utcnow())
        session.commit()
    with factory() as session:
        purged = purge_rejected(session, store=store, older_than=utcnow() - rejected_retention)
        session.commit()
    with factory() as session:
        if compact_changes(session):
            log.info("housekeeping: search change log emptied (a new epoch)")
        session.commit()
    if removed or purged:
        log.info(
            "housekeeping: %d expired uploads, %d rejected versions' objects removed",
            removed,
            purged,
        )


def run_worker(
    factory: sessionmaker[Session],
    store: ObjectStore,
    stop: threading.Event,
    *,
    poll_interval: float = 1.0,
    rejected_retention: timedelta = REJECTED_RETENTION,
) -> None:
    """Drain the queue until ``stop`` is set, with housekeeping between jobs."""
    Worker(
        factory=factory,
        store=store,
        handlers=handlers(),
        poll_interval=poll_interval,
        housekeeping=lambda: housekeeping(factory, store, rejected_retention=rejected_retention),
        housekeeping_every=HOUSEKEEPING_EVERY,
    ).run(stop)


def start_in_thread(
    factory: sessionmaker[Session],
    store: ObjectStore,
    count: int = 1,
    *,
    rejected_retention: timedelta = REJECTED_RETENTION,
) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_worker,
            args=(factory, store, stop),
            kwargs={"rejected_retention": rejected_retention},
            name=f"datahamn-worker-{i}",
            daemon=True,
        )
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    return stop, threads
