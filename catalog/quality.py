"""Quality reports and publisher suites, as the catalog keeps them.

The catalog stores what the validation package produces (JSON) and shows a summary with each
dataset; it never runs validation itself (that is ``ingest``'s job, so ``catalog`` stays
free of Great Expectations).

A dataset's quality summary is that of the newest quality reports of its latest published
version: ``status`` is the worst decision (failed > warnings > passed), ``score`` the mean.
It is stored on the dataset, so listings and the search filter read one column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base
from catalog.errors import NotFound
from catalog.models import Dataset, DatasetVersion, Timestamp, VersionState, utcnow

QUALITY = "quality"
PERSONAL_DATA = "personal-data"
STATUS_BY_DECISION = {"publish": "passed", "publish-with-warnings": "warnings", "reject": "failed"}
_RANK = {"passed": 0, "warnings": 1, "failed": 2}


class QualityReport(Base):
    """One report on one table (data file) of a version; every report is kept."""

    __tablename__ = "quality_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    file_key: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20))  # quality | personal-data
    decision: Mapped[str] = mapped_column(String(30))
    summary: Mapped[Any] = mapped_column(JSON)
    report: Mapped[Any] = mapped_column(JSON)
    suite_version: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


class DatasetSuite(Base):
    """A publisher's expectation suite for a dataset, as uploaded (each upload a version)."""

    __tablename__ = "dataset_suites"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


def add_report(
    session: Session,
    *,
    version: DatasetVersion,
    file_key: str,
    kind: str,
    decision: str,
    summary: dict[str, Any],
    report: dict[str, Any],
    suite_version: int | None = None,
    created_by_id: int | None = None,
) -> QualityReport:
    row = QualityReport(
        version_id=version.id,
        file_key=file_key,
        kind=kind,
        decision=decision,
        summary=summary,
        report=report,
        suite_version=suite_version,
        created_by_id=created_by_id,
    )
    session.add(row)
    session.flush()
    return row


def list_reports(session: Session, *, version: DatasetVersion) -> list[QualityReport]:
    return list(
        session.scalars(
            select(QualityReport)
            .where(QualityReport.version_id == version.id)
            .order_by(QualityReport.id)
        )
    )


def get_report(session: Session, *, version: DatasetVersion, report_id: int) -> QualityReport:
    row = session.get(QualityReport, report_id)
    if row is None or row.version_id != version.id:
        raise NotFound(f"no report {report_id} for version {version.number}", field="report")
    return row


def latest_reports(session: Session, *, version_id: int, kind: str) -> list[QualityReport]:
    """The newest report of ``kind`` for each file of a version."""
    newest = (
        select(func.max(QualityReport.id))
        .where(QualityReport.version_id == version_id, QualityReport.kind == kind)
        .group_by(QualityReport.file_key)
    )
    return list(session.scalars(select(QualityReport).where(QualityReport.id.in_(newest))))


def refresh_quality_summary(session: Session, dataset: Dataset) -> None:
    """Recompute the dataset's stored summary from its latest published version."""
    latest = session.scalars(
        select(DatasetVersion)
        .where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.state == VersionState.published
        )
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
    reports = latest_reports(session, version_id=latest.id, kind=QUALITY) if latest else []
    if not reports:
        dataset.quality_status, dataset.quality_score = None, None
    else:
        statuses = [STATUS_BY_DECISION.get(r.decision, "failed") for r in reports]
        dataset.quality_status = max(statuses, key=_RANK.__getitem__)
        scores = [float(r.summary.get("score", 0.0)) for r in reports]
        dataset.quality_score = round(sum(scores) / len(scores), 1)
    session.flush()


def add_suite(
    session: Session, *, dataset: Dataset, text: str, created_by_id: int | None
) -> DatasetSuite:
    latest = session.scalar(
        select(func.max(DatasetSuite.version)).where(DatasetSuite.dataset_id == dataset.id)
    )
    suite = DatasetSuite(
        dataset_id=dataset.id, version=(latest or 0) + 1, text=text, created_by_id=created_by_id
    )
    session.add(suite)
    session.flush()
    return suite


def latest_suite(session: Session, *, dataset_id: int) -> DatasetSuite | None:
    return session.scalars(
        select(DatasetSuite)
        .where(DatasetSuite.dataset_id == dataset_id)
        .order_by(DatasetSuite.version.desc())
        .limit(1)
    ).first()
