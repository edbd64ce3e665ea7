"""Quality reports of a version (JSON) and the review of versions held for personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, StringConstraints

from catalog.datasets import get_dataset
from catalog.deps import CurrentPrincipal, SessionDep, StoreDep
from catalog.presenters import version_public
from catalog.quality import get_report, list_reports, refresh_quality_summary
from catalog.schemas import Input, VersionPublic
from catalog.versions import get_version, review_version

router = APIRouter(prefix="/datasets/{organisation}/{name}/versions/{number}", tags=["quality"])
Number = Annotated[int, Path(ge=1, le=1_000_000)]


class ReportSummary(BaseModel):
    id: int
    file_key: str
    kind: str
    decision: str
    summary: dict[str, Any]
    suite_version: int | None
    created_at: datetime


class ReportsPublic(BaseModel):
    data: list[ReportSummary]
    count: int


class ReportPublic(ReportSummary):
    report: dict[str, Any]


class ReviewDecision(Input):
    decision: Literal["accept", "reject"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


@router.get("/reports")
def reports(
    organisation: str, name: str, number: Number, session: SessionDep, principal: CurrentPrincipal
) -> ReportsPublic:
    """Every quality and personal-data report of the version, oldest first."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = get_version(session, principal=principal, dataset=dataset, number=number)
    rows = list_reports(session, version=version)
    return ReportsPublic(
        data=[ReportSummary.model_validate(r, from_attributes=True) for r in rows], count=len(rows)
    )


@router.get("/reports/{report_id}")
def report(
    organisation: str,
    name: str,
    number: Number,
    report_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ReportPublic:
    """One report as JSON (values from the data are masked where personal)."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = get_version(session, principal=principal, dataset=dataset, number=number)
    row = get_report(session, version=version, report_id=report_id)
    return ReportPublic.model_validate(row, from_attributes=True)


@router.post("/review")
def review(
    organisation: str,
    name: str,
    number: Number,
    body: ReviewDecision,
    session: SessionDep,
    store: StoreDep,
    principal: CurrentPrincipal,
) -> VersionPublic:
    """Accept (publish) or reject a version held in needs-review; organisation admins only."""
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = review_version(
        session,
        principal=principal,
        store=store,
        accept=body.decision == "accept",
        reason=body.reason,
        version=get_version(session, principal=principal, dataset=dataset, number=number),
    )
    refresh_quality_summary(session, dataset)
    return version_public(version)
