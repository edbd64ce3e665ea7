"""The first step of an ingestion: the dataset, its licence, and the draft version.

The dataset is created on the first ingestion (or updated from the spec), the licence is
required, and a draft version N+1 is created and recorded on the job, so a retried job
continues that version and never makes two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.datasets import create_dataset, update_dataset
from catalog.errors import InvalidInput
from catalog.licences import get_agreement, require_licence
from catalog.models import Dataset, DatasetVersion, Organisation, VersionState
from catalog.principal import Principal
from catalog.versions import create_version
from ingest.jobs.worker import JobFailed
from ingest.run import IngestRun, run_principal
from ingest.specs import PipelineSpec, load_spec
from ingest.uploads.models import Upload, UploadState


def prepare(run: IngestRun) -> int:
    ctx = run.ctx
    ctx.progress(0.0, "preparing")
    # Log lines are written in transactions of their own: never inside another transaction,
    # which on SQLite would wait for itself.
    with ctx.factory() as session, session.begin():
        version_id, message = _continue_or_create(session, run)
    ctx.log(message)
    return version_id


def _continue_or_create(session: Session, run: IngestRun) -> tuple[int, str]:
    ctx = run.ctx
    if ctx.version_id is not None:
        version = session.get(DatasetVersion, ctx.version_id)
        if version is not None and version.state in {
            VersionState.draft,
            VersionState.validating,
            VersionState.published,
        }:
            stored = load_spec(session, version.dataset_id)
            run.spec = run.spec.merged_over(stored) if stored else run.spec
            return version.id, f"continuing version {version.number} (attempt {ctx.attempt})"
    principal = run_principal(session, run)
    for upload_id, _ in run.uploads:
        upload = session.get(Upload, upload_id)
        # Still receiving is fine: normalising reads it as it arrives.
        if upload is None or upload.state is UploadState.failed:
            raise JobFailed("upload-not-complete", f"upload {upload_id} is missing or failed")
    dataset = _ensure_dataset(session, run, principal)
    spec = run.spec.merged_over(load_spec(session, dataset.id))
    run.spec = spec
    _check_licence(session, dataset, spec)
    version = create_version(
        session,
        principal=principal,
        dataset=dataset,
        changelog=spec.changelog,
        licence=spec.licence,
        attribution=spec.attribution,
    )
    if spec.agreement:
        version.agreement_id = get_agreement(
            session, organisation=dataset.organisation, name=spec.agreement
        ).id
    ctx.record_version(session, version.id)
    return version.id, f"version {version.number} of {run.organisation}/{run.dataset_name} created"


def _ensure_dataset(session: Session, run: IngestRun, principal: Principal) -> Dataset:
    dataset = session.scalars(
        select(Dataset)
        .join(Organisation)
        .where(Organisation.name == run.organisation, Dataset.name == run.dataset_name)
    ).first()
    spec = run.spec
    fields: dict[str, Any] = {
        key: value
        for key, value in {
            "description": spec.description,
            "visibility": spec.visibility,
            "tags": spec.tags,
            "licence": spec.licence,
            "agreement": spec.agreement,
        }.items()
        if value is not None
    }
    if dataset is None:
        organisation = session.scalars(
            select(Organisation).where(Organisation.name == run.organisation)
        ).one()
        return create_dataset(
            session,
            principal=principal,
            organisation=organisation,
            name=run.dataset_name,
            title=spec.title or Path(run.uploads[0][1]).stem,
            **fields,
        )
    if spec.title:
        fields["title"] = spec.title
    if fields:
        update_dataset(session, principal=principal, dataset=dataset, **fields)
    return dataset


def _check_licence(session: Session, dataset: Dataset, spec: PipelineSpec) -> None:
    try:
        require_licence(
            session,
            organisation=dataset.organisation,
            dataset_licensed=dataset.licence_id is not None or dataset.agreement_id is not None,
            licence=spec.licence,
            agreement=spec.agreement,
        )
    except InvalidInput as exc:
        raise JobFailed("licence-required", exc.message) from exc
