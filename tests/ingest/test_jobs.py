"""The job queue and worker: claiming, leases, retries, cancellation, concurrent workers,
and a worker process killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_session_factory
from catalog.storage.local import LocalStore
from ingest.jobs import queue
from ingest.jobs.models import Job, JobLog, JobState
from ingest.jobs.worker import JobContext, JobFailed, Worker

LEASE = timedelta(seconds=30)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects", base_url="http://testserver", secret_key="k")


def _enqueue(
    factory: sessionmaker[Session], n: int = 1, kind: str = "test", **payload: Any
) -> list[str]:
    with factory() as session, session.begin():
        return [
            queue.enqueue(session, kind=kind, payload={"n": i, **payload}, created_by_id=None).id
            for i in range(n)
        ]


def _job(factory: sessionmaker[Session], job_id: str) -> Job:
    with factory() as session:
        return session.get_one(Job, job_id)


def test_claim_takes_the_oldest_and_only_once(factory: sessionmaker[Session]) -> None:
    first, second = _enqueue(factory, 2)
    a = queue.claim(factory, worker_id="a", kinds=["test"], lease=LEASE)
    b = queue.claim(factory, worker_id="b", kinds=["test"], lease=LEASE)
    assert (a and a.id, b and b.id) == (first, second)
    assert queue.claim(factory, worker_id="c", kinds=["test"], lease=LEASE) is None
    assert queue.claim(factory, worker_id="c", kinds=["other"], lease=LEASE) is None
    assert _job(factory, first).state is JobState.running
    assert _job(factory, first).attempts == 1


def test_an_expired_lease_lets_another_worker_take_over(
    factory: sessionmaker[Session],
) -> None:
    (job_id,) = _enqueue(factory)
    assert queue.claim(factory, worker_id="dead", kinds=["test"], lease=timedelta(seconds=-1))
    taken = queue.claim(factory, worker_id="alive", kinds=["test"], lease=LEASE)
    assert taken is not None and taken.id == job_id and taken.attempts == 2
    # The first worker, if it comes back, can no longer record anything.
    assert not queue.renew(factory, job_id=job_id, worker_id="dead", lease=LEASE)
    assert not queue.finish(factory, job_id=job_id, worker_id="dead", state=JobState.succeeded)
    assert queue.finish(
        factory, job_id=job_id, worker_id="alive", state=JobState.succeeded, result={"ok": True}
    )
    assert _job(factory, job_id).result == {"ok": True}


def test_worker_outcomes(factory: sessionmaker[Session], store: LocalStore) -> None:
    calls: Counter[int] = Counter()

    def handler(ctx: JobContext) -> dict[str, Any]:
        n = int(ctx.payload["n"])
        calls[n] += 1
        ctx.progress(0.5, "half way")
        ctx.log(f"working on {n}")
        if n == 1:
            raise JobFailed("empty-file", "the file is empty", "upload.csv")
        if n == 2 and calls[n] == 1:
            raise ConnectionError("object store went away")
        if n == 3:
            raise RuntimeError("always broken")
        return {"n": n}

    ids = _enqueue(factory, 4)
    worker = Worker(
        factory=factory, store=store, handlers={"test": handler}, retry_delay=timedelta(0)
    )
    while worker.run_once():
        pass
    jobs = [_job(factory, i) for i in ids]
    assert [j.state for j in jobs] == [
        JobState.succeeded,
        JobState.failed,
        JobState.succeeded,
        JobState.failed,
    ]
    assert jobs[0].result == {"n": 0} and jobs[0].progress == 1.0
    assert jobs[1].error == {
        "problem": "empty-file",
        "message": "the file is empty",
        "location": "upload.csv",
    }
    assert calls[1] == 1  # a permanent failure is not retried
    assert calls[2] == 2 and jobs[2].attempts == 2  # a passing failure is
    error = jobs[3].error
    assert error is not None
    assert calls[3] == 3 and error["problem"] == "internal-error"
    assert "always broken" in error["message"]
    with factory() as session:
        messages = session.scalars(select(JobLog.message).where(JobLog.job_id == ids[2])).all()
    assert "working on 2" in messages
    assert any("retrying" in m for m in messages)


def test_cancelling_a_running_job_stops_its_handler(
    factory: sessionmaker[Session],
    store: LocalStore,
) -> None:
    (job_id,) = _enqueue(factory)
    started = threading.Event()
    stopped = threading.Event()

    def handler(ctx: JobContext) -> dict[str, Any]:
        started.set()
        for _ in range(200):
            time.sleep(0.02)
            ctx.check()
        return {"finished": True}

    worker = Worker(
        factory=factory, store=store, handlers={"test": handler}, lease=timedelta(seconds=0.3)
    )

    def run() -> None:
        worker.run_once()
        stopped.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    with factory() as session, session.begin():
        queue.cancel(session, job=session.get_one(Job, job_id))
    thread.join(10)
    assert stopped.is_set()
    job = _job(factory, job_id)
    assert job.state is JobState.cancelled and job.result is None


def test_concurrent_workers_run_each_job_exactly_once(
    factory: sessionmaker[Session],
    store: LocalStore,
) -> None:
    ids = _enqueue(factory, 30)
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def handler(ctx: JobContext) -> dict[str, Any]:
        with lock:
            seen[ctx.job_id] += 1
        time.sleep(0.005)
        return {}

    stop = threading.Event()
    workers = [
        Worker(
            factory=factory,
            store=store,
            handlers={"test": handler},
            worker_id=f"w{i}",
            poll_interval=0.02,
        )
        for i in range(4)
    ]
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while sum(seen.values()) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(10)
    assert seen == Counter(dict.fromkeys(ids, 1))
    with factory() as session:
        states = set(session.scalars(select(Job.state)))
    assert states == {JobState.succeeded}


_SLOW_WORKER = """
import sys, threading, time
from datetime import timedelta
from catalog.db import make_engine, make_session_factory
from catalog.storage.local import LocalStore
from ingest.jobs.worker import Worker

def handler(ctx):
    ctx.progress(0.1, "started")
    print("started", flush=True)
    time.sleep(60)
    return {}

factory = make_session_factory(make_engine(sys.argv[1]))
store = LocalStore(sys.argv[2], base_url="http://x", secret_key="k")
Worker(factory=factory, store=store, handlers={"test": handler},
       lease=timedelta(seconds=2)).run_once()
"""


@pytest.mark.slow
def test_a_killed_worker_process_job_is_taken_over(
    factory: sessionmaker[Session],
    store: LocalStore,
    db_url: str,
    tmp_path: Path,
) -> None:
    (job_id,) = _enqueue(factory)
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WORKER, db_url, str(tmp_path / "objects")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert _job(factory, job_id).state is JobState.running  # orphaned, lease still held
    done: list[int] = []

    def handler(ctx: JobContext) -> dict[str, Any]:
        done.append(ctx.attempt)
        return {"attempt": ctx.attempt}

    worker = Worker(factory=factory, store=store, handlers={"test": handler})
    deadline = time.monotonic() + 30
    while not done and time.monotonic() < deadline:
        if not worker.run_once():
            time.sleep(0.2)
    job = _job(factory, job_id)
    assert (job.state, job.result, done) == (JobState.succeeded, {"attempt": 2}, [2])


def test_housekeeping_runs_between_jobs_and_never_stops_the_worker(
    factory: sessionmaker[Session],
    store: LocalStore,
) -> None:
    calls: list[int] = []

    def housekeeping() -> None:
        calls.append(1)
        raise RuntimeError("the store is down")  # logged; the worker goes on

    stop = threading.Event()
    worker = Worker(
        factory=factory,
        store=store,
        handlers={"test": lambda ctx: {}},
        poll_interval=0.01,
        housekeeping=housekeeping,
        housekeeping_every=timedelta(seconds=0.05),
    )
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    time.sleep(0.3)
    (job_id,) = _enqueue(factory)
    deadline = time.monotonic() + 10
    while _job(factory, job_id).state is not JobState.succeeded and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert _job(factory, job_id).state is JobState.succeeded
    assert len(calls) >= 2
