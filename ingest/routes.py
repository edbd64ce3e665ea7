"""/api/v1/ingest (queue an ingestion) and /api/v1/datasets/{org}/{name}/pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import Field, StringConstraints

from catalog.datasets import get_dataset
from catalog.deps import CurrentPrincipal, SessionDep
from catalog.errors import NotFound
from ingest.jobs.routes import JobPublic, job_public
from ingest.specs import PipelineSpec, load_spec
from ingest.submit import submit_ingest

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class IngestRequest(PipelineSpec):
    upload_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
        Field(
            min_length=1,
            max_length=100,
            description="complete uploads; each file becomes part of one new version",
        ),
    ]
    dataset: Annotated[
        str,
        StringConstraints(
            pattern=r"^[a-z0-9][a-z0-9_-]*[a-z0-9]/[a-z0-9][a-z0-9_-]*[a-z0-9]$",
            max_length=201,
        ),
    ] = Field(description="organisation/dataset, as in the upload's metadata")


@router.post("/ingest", status_code=status.HTTP_202_ACCEPTED)
def ingest(body: IngestRequest, session: SessionDep, principal: CurrentPrincipal) -> JobPublic:
    """Queue the ingestion of complete uploads into one new version; follow the job at
    /api/v1/jobs/{id}.

    Spec fields left out are taken from the dataset's stored pipeline spec, so next month's
    file needs only the upload and the dataset."""
    spec = PipelineSpec.model_validate(
        body.model_dump(exclude={"upload_ids", "dataset"}, exclude_unset=True)
    )
    job = submit_ingest(
        session, principal=principal, upload_ids=body.upload_ids, dataset=body.dataset, spec=spec
    )
    return job_public(session, job)


@router.get("/datasets/{organisation}/{name}/pipeline")
def pipeline_spec(
    organisation: str, name: str, session: SessionDep, principal: CurrentPrincipal
) -> PipelineSpec:
    """The stored spec a re-run of this dataset's ingestion uses."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    spec = load_spec(session, dataset.id)
    if spec is None:
        raise NotFound(f"{organisation}/{name} has no stored pipeline spec yet", field="dataset")
    return spec
