"""Publisher suites (upload, checked at once; versioned), readable report pages, and
re-validation of a stored version. Here rather than in ``catalog`` because they need the
validation package."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select

from catalog.datasets import get_dataset
from catalog.deps import CurrentPrincipal, SessionDep
from catalog.errors import ErrorDetail, InvalidInput, NotFound
from catalog.models import DatasetVersion, VersionState
from catalog.principal import denied
from catalog.quality import QUALITY, add_suite, get_report, latest_suite
from catalog.versions import get_version
from ingest.jobs.queue import enqueue
from ingest.jobs.routes import JobPublic, job_public
from ingest.revalidate import JOB_KIND as VALIDATE
from ingest.revalidate import VALIDATABLE, stored_schemas
from validation import Report, SuiteError, check_suite, parse_suite, render_html

router = APIRouter(prefix="/api/v1/datasets/{organisation}/{name}", tags=["quality"])
Number = Annotated[int, Path(ge=1, le=1_000_000)]
SUITE_MAX_BYTES = 256 * 1024


class SuitePublic(BaseModel):
    dataset: str
    version: int
    expectations: int
    text: str
    created_at: datetime


@router.put(
    "/suite",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
    },
)
async def put_suite(
    organisation: str, name: str, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> SuitePublic:
    """Store a new version of the dataset's suite: GX 1.x suite JSON, or the short YAML form
    (docs/validation.md). It is checked now, against the latest published data's schema;
    every problem is listed, naming the expectation."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    if not principal.can_write(dataset.organisation_id):
        raise denied(principal, "only publishers and admins of the organisation set suites")
    body = await request.body()
    if len(body) > SUITE_MAX_BYTES:
        raise InvalidInput(f"a suite is at most {SUITE_MAX_BYTES // 1024} KiB", field="body")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    fmt: Literal["json", "yaml"] = "json" if kind.endswith("json") else "yaml"
    try:
        text = body.decode("utf-8")
        suite = parse_suite(text, fmt=fmt)
    except UnicodeDecodeError as exc:
        raise InvalidInput("the suite is not UTF-8 text", field="body") from exc
    except SuiteError as exc:
        raise _suite_invalid(exc.problems) from exc
    latest = session.scalars(
        select(DatasetVersion)
        .where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.state == VersionState.published
        )
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
    for schema in stored_schemas(latest) if latest else []:
        problems = check_suite(suite, schema)
        if problems:
            raise _suite_invalid(problems)
    row = add_suite(session, dataset=dataset, text=text, created_by_id=principal.user_id)
    return SuitePublic(
        dataset=f"{organisation}/{name}",
        version=row.version,
        expectations=len(suite.expectations),
        text=row.text,
        created_at=row.created_at,
    )


def _suite_invalid(problems: Sequence[object]) -> InvalidInput:
    details = [
        ErrorDetail(
            field=f"suite.{getattr(p, 'location', '') or 'suite'}",
            message=str(getattr(p, "message", p)),
        )
        for p in problems
    ]
    return InvalidInput(f"the suite is not valid: {details[0].message}", details=details)


@router.get("/suite")
def get_suite(
    organisation: str, name: str, session: SessionDep, principal: CurrentPrincipal
) -> SuitePublic:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    row = latest_suite(session, dataset_id=dataset.id)
    if row is None:
        raise NotFound(
            f"{organisation}/{name} has no suite; the default suite applies", field="suite"
        )
    return SuitePublic(
        dataset=f"{organisation}/{name}",
        version=row.version,
        expectations=len(parse_suite(row.text).expectations),
        text=row.text,
        created_at=row.created_at,
    )


@router.get("/versions/{number}/reports/{report_id}/html", response_class=HTMLResponse)
def report_page(
    organisation: str,
    name: str,
    number: Number,
    report_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """A quality report as a page for people: each expectation, passed or failed, observed
    value and a few unexpected values (masked where personal)."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = get_version(session, principal=principal, dataset=dataset, number=number)
    row = get_report(session, version=version, report_id=report_id)
    if row.kind != QUALITY:
        raise NotFound("only quality reports have a page; see the JSON", field="report")
    title = f"{organisation}/{name} v{number}: {row.file_key}"
    return HTMLResponse(render_html(Report.from_dict(row.report), title=title))


@router.post("/versions/{number}/validate", status_code=status.HTTP_202_ACCEPTED)
def revalidate(
    organisation: str, name: str, number: Number, session: SessionDep, principal: CurrentPrincipal
) -> JobPublic:
    """Validate a stored version again (e.g. with a new suite); the new reports are added."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = get_version(session, principal=principal, dataset=dataset, number=number)
    if not principal.can_write(dataset.organisation_id):
        raise denied(principal, "only publishers and admins of the organisation re-validate")
    if version.state not in VALIDATABLE:
        raise InvalidInput(
            f"version {number} is {version.state.value}; only published or "
            "needs-review versions are re-validated",
            field="number",
        )
    job = enqueue(
        session,
        kind=VALIDATE,
        created_by_id=principal.user_id,
        payload={
            "dataset": f"{organisation}/{name}",
            "version": number,
            "user_id": principal.user_id,
        },
    )
    return job_public(session, job)
