"""Submitting an ingestion: check what can be checked at once, then queue the job.

Everything a person can get wrong before any byte is read (the upload, the target, the
licence, the format options) is refused here with a 4xx naming the field, not minutes later
in a failed job.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.licences import require_licence
from catalog.models import Dataset, Organisation
from catalog.principal import Principal, denied
from ingest.jobs.models import Job
from ingest.jobs.queue import enqueue
from ingest.options import FormatOptions
from ingest.pipeline import JOB_KIND
from ingest.specs import PipelineSpec, load_spec
from ingest.uploads.models import Upload, UploadState


def submit_ingest(
    session: Session,
    *,
    principal: Principal,
    upload_ids: list[str],
    dataset: str,
    spec: PipelineSpec,
) -> Job:
    """Queue one job that makes one version of ``dataset`` from every upload given."""
    if not principal.is_authenticated or principal.user_id is None:
        raise denied(principal, "sign in to ingest")
    uploads = [_own_upload(session, principal, i, dataset) for i in upload_ids]
    names = [u.filename for u in uploads]
    if len(set(names)) != len(names):
        raise InvalidInput("two uploads have the same file name", field="upload_ids")
    organisation = session.get_one(Organisation, uploads[0].organisation_id)
    if not principal.can_write(organisation.id):
        raise denied(principal, f"only publishers and admins of {organisation.name!r} ingest")
    existing = session.scalars(
        select(Dataset).where(
            Dataset.organisation_id == organisation.id, Dataset.name == uploads[0].dataset_name
        )
    ).first()
    effective = spec.merged_over(load_spec(session, existing.id) if existing else None)
    require_licence(
        session,
        organisation=organisation,
        dataset_licensed=existing is not None
        and (existing.licence_id is not None or existing.agreement_id is not None),
        licence=effective.licence,
        agreement=effective.agreement,
    )
    if "limits" in effective.format_options:
        raise InvalidInput(
            "limits are set by the service, not per ingestion", field="format_options.limits"
        )
    try:
        FormatOptions.from_dict(effective.format_options)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid format options: {exc}", field="format_options") from exc
    return enqueue(
        session,
        kind=JOB_KIND,
        created_by_id=principal.user_id,
        payload={
            "dataset": dataset,
            "user_id": principal.user_id,
            "uploads": [{"id": u.id, "filename": u.filename} for u in uploads],
            "spec": spec.model_dump(mode="json", exclude_unset=True),
        },
    )


def _own_upload(session: Session, principal: Principal, upload_id: str, dataset: str) -> Upload:
    """The caller's upload for ``dataset``, complete or still arriving.

    An upload still receiving is accepted: the worker reads it as it arrives
    (``ingest.uploads.follow``), so normalising overlaps the transfer.
    """
    upload = session.get(Upload, upload_id)
    if upload is None or (upload.owner_id != principal.user_id and not principal.is_sysadmin):
        raise NotFound(f"no upload {upload_id!r}", field="upload_ids")
    if upload.state is UploadState.failed:
        raise Conflict(
            f"upload {upload_id!r} failed ({upload.error}); upload the file again",
            field="upload_ids",
        )
    if upload.dataset != dataset:
        raise InvalidInput(
            f"upload {upload_id!r} was made for {upload.dataset}, not {dataset}", field="dataset"
        )
    return upload
