"""The ingestion pipeline: one job turns a complete upload into a published version.

Steps (progress fractions in brackets):
    prepare    [0.00] dataset (created on first ingest), licence, a draft version recorded
                      on the job, so a retried job continues that version
    normalise  [0.05] stream the upload through the readers into Parquet files on local disk
    store      [0.60] original and Parquet objects under the version's prefix (each original
                      is composed in the store while normalising still runs: ingest.originals)
    validate   [0.80] structural checks; personal-data scan; schema change against the last
                      published version
    publish    [0.90] verify every object (size, sha256), then one transaction publishes

A problem with the input (IngestError, unknown licence, refused schema change) rejects the
version with its reason and fails the job for good. Anything else (the object store or the
database going away) is retried by the worker; on the last attempt the version is rejected.
Nothing is visible until the final transaction, which is all-or-nothing.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog.errors import DatahamnError
from catalog.models import DatasetVersion, VersionState
from catalog.quality import refresh_quality_summary
from catalog.versions import (
    previous_published,
    publish_version,
    transition,
    version_prefix,
)
from ingest.errors import IngestError
from ingest.jobs.worker import JobContext, JobFailed
from ingest.normalise import NormalisedTable, normalise
from ingest.objects import Normalised, write_objects, written_keys
from ingest.options import FormatOptions
from ingest.originals import EarlyOriginals
from ingest.prepare import prepare
from ingest.quality import (
    check_tables,
    dataset_suite,
    personal_data_declared,
    previous_profiles,
    store_reports,
)
from ingest.run import IngestRun, run_principal
from ingest.schema_changes import SchemaChange, compare, schema_to_json
from ingest.specs import PipelineSpec, save_spec
from ingest.uploads.follow import follow_upload, wait_until_complete
from ingest.uploads.models import Upload
from ingest.uploads.service import delete_upload

log = logging.getLogger(__name__)

JOB_KIND = "ingest"


def run_ingest_job(ctx: JobContext) -> dict[str, Any]:
    """The worker's handler for ``ingest`` jobs."""
    run = IngestRun(
        ctx=ctx,
        spec=PipelineSpec.model_validate(ctx.payload["spec"]),
        uploads=[(str(u["id"]), str(u["filename"])) for u in ctx.payload["uploads"]],
        organisation=str(ctx.payload["dataset"]).split("/", 1)[0],
        dataset_name=str(ctx.payload["dataset"]).split("/", 1)[1],
        user_id=int(ctx.payload["user_id"]),
    )
    version_id: int | None = None
    try:
        version_id = prepare(run)
        done = _published_already(run, version_id)
        if done is not None:
            return done
        work_dir = Path(tempfile.mkdtemp(prefix=f"ingest-{ctx.job_id[:8]}-"))
        try:
            # The originals are composed in the store while normalising still runs.
            prefix = _version_prefix(run, version_id)
            with EarlyOriginals(ctx.factory, ctx.store, prefix, run.uploads) as originals:
                normalised = _normalise(run, work_dir, originals)
                return _store_validate_publish(run, prefix, version_id, normalised, originals)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    except IngestError as exc:
        _reject(run, version_id, exc.message)
        raise JobFailed(
            exc.problem, exc.message, str(exc.location) if exc.location else None
        ) from exc
    except JobFailed as exc:
        _reject(run, version_id, exc.message)
        raise
    except DatahamnError as exc:
        _reject(run, version_id, exc.message)
        raise JobFailed(exc.code, exc.message) from exc
    except Exception as exc:
        if ctx.attempt >= ctx.max_attempts:
            _reject(run, version_id, f"{type(exc).__name__}: {exc}"[:1000])
        raise


def _published_already(run: IngestRun, version_id: int) -> dict[str, Any] | None:
    """A retried job whose version was already published just reports it."""
    with run.ctx.factory() as session:
        version = session.get_one(DatasetVersion, version_id)
        if version.state is VersionState.published:
            return _result(version, tables=[], schema_change=None, warnings=[])
    return None


def _version_prefix(run: IngestRun, version_id: int) -> str:
    with run.ctx.factory() as session:
        version = session.get_one(DatasetVersion, version_id)
        return version_prefix(version.dataset, version.number)


def _normalise(run: IngestRun, work_dir: Path, originals: EarlyOriginals) -> list[Normalised]:
    ctx = run.ctx
    with ctx.factory() as session:
        lengths = [session.get_one(Upload, upload_id).length or 0 for upload_id, _ in run.uploads]
    total = sum(lengths)
    options = FormatOptions.from_dict(run.spec.format_options)
    out: list[Normalised] = []
    before = 0
    for (upload_id, filename), length in zip(run.uploads, lengths, strict=True):
        ctx.progress(0.05 + 0.55 * (before / total if total else 0.0), f"normalising {filename}")

        def open_source(upload_id: str = upload_id, filename: str = filename) -> Any:
            # Complete or still arriving, the same stream: it reads each chunk as the server
            # records it (normalising overlaps the transfer) and ends once it is complete.
            return follow_upload(
                ctx.factory, ctx.store, upload_id, filename=filename, on_wait=ctx.check
            )

        result = normalise(
            open_source,
            filename=filename,
            options=options,
            work_dir=work_dir / upload_id,
            progress=_progress(ctx, before, total),
            detected=functools.partial(originals.detected, upload_id),
        )
        before += length
        # A reader may stop before the end (a table that ends early); storing the original
        # and publishing need the whole upload.
        wait_until_complete(ctx.factory, upload_id, filename=filename, on_wait=ctx.check)
        originals.normalised(upload_id)
        for table in result.tables:
            ctx.log(
                f"{filename}: table {table.name!r}: {table.row_count:,} rows, "
                f"{len(table.columns)} columns"
            )
        out.append(Normalised(upload_id=upload_id, filename=filename, result=result))
    for warning in _warnings(out):
        ctx.log(warning, level="warning")
    return out


def _progress(ctx: JobContext, before: int, total: int) -> Callable[[int], None]:
    reported = [0.0]

    def progress(done: int) -> None:
        fraction = 0.05 + 0.55 * ((before + done) / total if total else 0.0)
        if fraction - reported[0] >= 0.01:  # at most ~100 progress writes per job
            reported[0] = fraction
            ctx.progress(fraction, f"normalising: {before + done:,} of {total:,} bytes read")

    return progress


def _tables(normalised: list[Normalised]) -> list[NormalisedTable]:
    return [t for n in normalised for t in n.result.tables]


def _warnings(normalised: list[Normalised]) -> list[str]:
    return [
        f"{n.filename}: {w}"
        for n in normalised
        for w in [*n.result.warnings, *(w for t in n.result.tables for w in t.warnings)]
    ]


def _store_validate_publish(
    run: IngestRun,
    prefix: str,
    version_id: int,
    normalised: list[Normalised],
    originals: EarlyOriginals,
) -> dict[str, Any]:
    ctx = run.ctx
    tables = _tables(normalised)
    ctx.progress(0.6, "storing objects")
    written, table_keys = write_objects(ctx.store, prefix, normalised, ctx.check, originals)
    ctx.check()
    ctx.progress(0.75, "validating")
    with ctx.factory() as session, session.begin():
        principal = run_principal(session, run)
        version = session.get_one(DatasetVersion, version_id)
        for file in list(version.files):  # a retry re-registers what it wrote
            session.delete(file)
        session.flush()
        session.refresh(version)
        for register in written:
            register(session, principal, version)
        _structural_checks(tables)
        previous = previous_published(session, version)
        change = _schema_change(previous, tables)
        if change is not None and change.changed and not run.spec.accept_schema_change:
            raise JobFailed(
                "schema-changed",
                f"the schema changed since the last published version: {change.describe()}; "
                "re-run with the schema change accepted to publish it",
            )
        if version.state is VersionState.draft:
            transition(version, VersionState.validating)
        suite, suite_version = dataset_suite(session, version.dataset_id)
        profiles = previous_profiles(session, previous)
    outcome = check_tables(
        table_keys,
        suite=suite,
        suite_version=suite_version,
        previous=profiles,
        key_columns=run.spec.key_columns or [],
        accept_schema_change=run.spec.accept_schema_change,
        profiles={t.parquet_path: t.profile for t in tables if t.profile is not None},
    )
    ctx.check()
    ctx.progress(0.9, "publishing")
    with ctx.factory() as session, session.begin():
        version = session.get_one(DatasetVersion, version_id)
        store_reports(session, version=version, outcome=outcome, user_id=run.user_id)
        if outcome.rejected:
            transition(
                version, VersionState.rejected, reason=f"validation failed: {outcome.failures()}"
            )
        elif outcome.needs_review and not personal_data_declared(version.dataset):
            transition(
                version,
                VersionState.needs_review,
                reason="personal data found; an organisation admin must accept or reject",
            )
        else:
            # This job wrote every file of the version, with its sha256 recorded in the store:
            # publishing checks them with a HEAD instead of reading them back.
            publish_version(
                session,
                principal=run_principal(session, run),
                store=ctx.store,
                version=version,
                written=written_keys(written),
            )
            refresh_quality_summary(session, version.dataset)
        save_spec(
            session,
            dataset_id=version.dataset_id,
            spec=run.spec,
            user_id=run.user_id,
            version_number=version.number,
        )
        result = _result(
            version, tables=tables, schema_change=change, warnings=_warnings(normalised)
        )
    result["validation"] = outcome.summary()
    if outcome.rejected:
        raise JobFailed("validation-failed", f"validation failed: {outcome.failures()}")
    ctx.log(f"version {result['version']}: {result['state']}")
    if result["state"] == VersionState.published.value:
        _discard_uploads(run)
    return result


def _discard_uploads(run: IngestRun) -> None:
    """The version holds the originals now; the staged bytes can go. Best effort: expiry
    removes whatever is left."""
    for upload_id, _ in run.uploads:
        try:
            with run.ctx.factory() as session:  # delete_upload commits
                delete_upload(session, run.ctx.store, upload_id)
        except Exception:
            log.warning(
                "upload %s not removed after publishing; expiry will", upload_id, exc_info=True
            )


def _structural_checks(tables: list[NormalisedTable]) -> None:
    """Until quality validation is wired in: tables must have rows and columns."""
    for table in tables:
        if table.row_count == 0:
            raise JobFailed("empty-table", f"table {table.name!r} has no rows")
        if not table.columns:
            raise JobFailed("empty-table", f"table {table.name!r} has no columns")


def _schema_change(
    previous: DatasetVersion | None, tables: list[NormalisedTable]
) -> SchemaChange | None:
    if previous is None or not tables:
        return None
    old = [
        f for f in previous.files if f.role == "data" and not f.key.endswith(".manifest.parquet")
    ]
    if not old or not isinstance(old[0].arrow_schema, dict):
        return None
    before: list[dict[str, Any]] = []
    for file in old:
        if isinstance(file.arrow_schema, dict):
            before.extend(file.arrow_schema.get("fields", []))
    after: list[dict[str, Any]] = []
    for table in tables:
        after.extend(schema_to_json(table.arrow_schema))
    return compare(before, after)


def _reject(run: IngestRun, version_id: int | None, reason: str) -> None:
    if version_id is None:
        return
    with run.ctx.factory() as session, session.begin():
        version = session.get(DatasetVersion, version_id)
        if version is not None and version.state in {VersionState.draft, VersionState.validating}:
            transition(version, VersionState.rejected, reason=reason)
    run.ctx.log(f"version rejected: {reason}", level="error")


def _result(
    version: DatasetVersion,
    *,
    tables: list[NormalisedTable],
    schema_change: SchemaChange | None,
    warnings: list[str],
) -> dict[str, Any]:
    return {
        "dataset": f"{version.dataset.organisation.name}/{version.dataset.name}",
        "version": version.number,
        "state": version.state.value,
        "tables": [
            {"name": t.name, "rows": t.row_count, "columns": len(t.columns)} for t in tables
        ],
        "schema_change": schema_change.as_dict() if schema_change else None,
        "warnings": warnings,
    }
