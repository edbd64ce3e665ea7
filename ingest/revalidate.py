"""Re-validating a stored version (e.g. with a new suite): a job that reads the version's
Parquet objects back and adds new reports; every earlier report is kept."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Dataset, DatasetFile, DatasetVersion, Organisation, VersionState
from catalog.quality import refresh_quality_summary
from catalog.versions import previous_published, version_prefix
from ingest.jobs.worker import JobContext, JobFailed
from ingest.quality import check_tables, dataset_suite, previous_profiles, store_reports
from ingest.specs import load_spec

JOB_KIND = "validate"
VALIDATABLE = frozenset({VersionState.published, VersionState.needs_review})


def find_version(session: Session, dataset: str, number: int) -> DatasetVersion:
    organisation, name = dataset.split("/", 1)
    version = session.scalars(
        select(DatasetVersion)
        .join(Dataset)
        .join(Organisation)
        .where(
            Organisation.name == organisation, Dataset.name == name, DatasetVersion.number == number
        )
    ).first()
    if version is None:
        raise JobFailed("not-found", f"no version {number} of {dataset}")
    return version


def data_files(version: DatasetVersion) -> list[DatasetFile]:
    return [
        f
        for f in version.files
        if f.role == "data" and f.format == "parquet" and not f.key.endswith(".manifest.parquet")
    ]


def stored_schemas(version: DatasetVersion) -> list[pa.Schema]:
    """The Arrow schemas recorded for the version's tables (to check a suite against)."""
    out = []
    for file in data_files(version):
        ipc = file.arrow_schema.get("ipc") if isinstance(file.arrow_schema, dict) else None
        if ipc:
            out.append(pa.ipc.read_schema(pa.py_buffer(base64.b64decode(ipc))))
    return out


def run_validate_job(ctx: JobContext) -> dict[str, Any]:
    dataset, number = str(ctx.payload["dataset"]), int(ctx.payload["version"])
    work = Path(tempfile.mkdtemp(prefix=f"validate-{ctx.job_id[:8]}-"))
    try:
        with ctx.factory() as session:
            version = find_version(session, dataset, number)
            if version.state not in VALIDATABLE:
                raise JobFailed("wrong-state", f"version {number} is {version.state.value}")
            prefix = version_prefix(version.dataset, version.number)
            files = [(f.key, prefix + f.key) for f in data_files(version)]
            suite, suite_version = dataset_suite(session, version.dataset_id)
            profiles = previous_profiles(session, previous_published(session, version))
            spec = load_spec(session, version.dataset_id)
            keys = (spec.key_columns if spec else None) or []
            version_id = version.id
        tables: list[tuple[str, Path]] = []
        for i, (key, object_key) in enumerate(files):
            ctx.progress(0.5 * i / max(len(files), 1), f"reading {key}")
            local = work / f"{i}.parquet"
            with local.open("wb") as handle:
                for chunk in ctx.store.get(object_key):
                    handle.write(chunk)
            tables.append((key, local))
        ctx.progress(0.5, "validating")
        outcome = check_tables(
            tables,
            suite=suite,
            suite_version=suite_version,
            previous=profiles,
            key_columns=keys,
            accept_schema_change=True,
        )
        with ctx.factory() as session, session.begin():
            version = session.get_one(DatasetVersion, version_id)
            store_reports(
                session, version=version, outcome=outcome, user_id=int(ctx.payload["user_id"])
            )
            refresh_quality_summary(session, version.dataset)
        return {"dataset": dataset, "version": number, "validation": outcome.summary()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
