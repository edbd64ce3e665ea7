"""The pipeline's validation step: quality (the default suite plus the dataset's suite) and
the personal-data scan, for each table of a version, and what follows from them.

    any quality report "reject"                 -> the version is rejected with the reports
    personal data found, none declared with a
    legal basis                                 -> the version waits in needs-review
    otherwise                                   -> publish (warnings travel with the reports)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog.models import Dataset, DatasetVersion
from catalog.quality import (
    PERSONAL_DATA,
    QUALITY,
    add_report,
    latest_reports,
    latest_suite,
)
from validation import Profile, Report, Suite, parse_suite, validate
from validation.personal_data import PersonalDataReport, scan_parquet

# DuckDB's budget for validation inside the worker, which also holds the job's other state;
# past it DuckDB spills to disk. The same as the statistics scan's (ingest.statistics).
MEMORY_LIMIT = "256MB"


@dataclass(frozen=True)
class TableCheck:
    file_key: str
    quality: Report
    personal: PersonalDataReport


@dataclass(frozen=True)
class Outcome:
    checks: list[TableCheck]
    suite_version: int | None

    @property
    def rejected(self) -> bool:
        return any(c.quality.decision == "reject" for c in self.checks)

    @property
    def needs_review(self) -> bool:
        return any(c.personal.requires_review for c in self.checks)

    def failures(self) -> str:
        """A short, readable list of what failed (for the job's error and the version)."""
        names: list[str] = []
        for check in self.checks:
            names += [f"{check.file_key}: {err.message}" for err in check.quality.errors]
            names += [
                f"{check.file_key}: {r.describe()}"
                for r in check.quality.results
                if r.status == "failed"
            ]
        return "; ".join(names[:5]) + (f" (and {len(names) - 5} more)" if len(names) > 5 else "")

    def summary(self) -> dict[str, Any]:
        return {
            "decision": "reject"
            if self.rejected
            else ("needs-review" if self.needs_review else "publish"),
            "tables": {
                c.file_key: {
                    **vars(c.quality.summary),
                    "decision": c.quality.decision,
                    "personal_data": [
                        {
                            "column": f.column,
                            "type": f.type,
                            "count": f.count,
                            "confidence": f.confidence,
                        }
                        for f in c.personal.findings
                    ],
                }
                for c in self.checks
            },
        }


def dataset_suite(session: Session, dataset_id: int) -> tuple[Suite | None, int | None]:
    stored = latest_suite(session, dataset_id=dataset_id)
    if stored is None:
        return None, None
    return parse_suite(stored.text, name=f"suite v{stored.version}"), stored.version


def previous_profiles(session: Session, previous: DatasetVersion | None) -> dict[str, Profile]:
    if previous is None:
        return {}
    out: dict[str, Profile] = {}
    for row in latest_reports(session, version_id=previous.id, kind=QUALITY):
        profile = row.report.get("profile") if isinstance(row.report, dict) else None
        if profile:
            out[row.file_key] = Profile.from_dict(profile)
    return out


def check_tables(
    tables: list[tuple[str, Path]],
    *,
    suite: Suite | None,
    suite_version: int | None,
    previous: dict[str, Profile],
    key_columns: list[str],
    accept_schema_change: bool,
    profiles: Mapping[Path, Profile] | None = None,
) -> Outcome:
    """Scan and validate each (object key, local Parquet path); never raises for bad data.

    ``profiles``: the profile of each local Parquet file, computed by normalising's
    statistics scan (``ingest.statistics``), so that validation does not scan it again.
    """
    checks = []
    for key, path in tables:
        personal = scan_parquet(path)
        quality = validate(
            path,
            suite,
            previous=previous.get(key),
            key_columns=key_columns,
            accept_schema_change=accept_schema_change,
            mask=personal.value_mask(),
            memory_limit=MEMORY_LIMIT,
            profile=(profiles or {}).get(path),
        )
        checks.append(TableCheck(file_key=key, quality=quality, personal=personal))
    return Outcome(checks=checks, suite_version=suite_version)


def store_reports(
    session: Session, *, version: DatasetVersion, outcome: Outcome, user_id: int | None
) -> None:
    for check in outcome.checks:
        add_report(
            session,
            version=version,
            file_key=check.file_key,
            kind=QUALITY,
            decision=check.quality.decision,
            summary=vars(check.quality.summary),
            report=check.quality.to_dict(),
            suite_version=outcome.suite_version,
            created_by_id=user_id,
        )
        add_report(
            session,
            version=version,
            file_key=check.file_key,
            kind=PERSONAL_DATA,
            decision="needs-review" if check.personal.requires_review else "publish",
            summary={
                "findings": len(check.personal.findings),
                "requires_review": check.personal.requires_review,
            },
            report=json.loads(check.personal.to_json()),
            created_by_id=user_id,
        )


def personal_data_declared(dataset: Dataset) -> bool:
    """A dataset that declares personal data with a legal basis publishes without review."""
    return dataset.contains_personal_data and bool(
        (dataset.personal_data_legal_basis or "").strip()
    )
