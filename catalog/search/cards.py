"""The API bodies of a page of search results, read with Core statements.

:func:`dataset_cards` returns what ``dataset_public(dataset, latest_published(...))`` returns
for each dataset (``tests/test_search_snapshot.py`` holds them equal), from one statement
whose rows become the bodies directly. Loading the same page as ORM objects (datasets,
organisations, licences, tag and theme rows, versions: about 140 objects for 20 datasets)
took most of a search's time.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from catalog.models import (
    Agreement,
    Dataset,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Licence,
    Organisation,
    VersionState,
)
from catalog.schemas import (
    DatasetPublic,
    LicenceRef,
    OrganisationRef,
    Provenance,
    QualitySummary,
    VersionRef,
)

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_d = Dataset.__table__.c


def _statement(sqlite: bool) -> Select[Any]:
    """One statement for the whole page: tags and themes as JSON arrays (PostgreSQL sorts
    them; SQLite 3.40 cannot order inside an aggregate, so Python does, in the same BINARY
    order), and the newest published version (as catalog.versions.latest_published)."""

    def listed(column: Any, key: Any) -> Any:
        agg = (
            func.json_group_array(column)
            if sqlite
            else func.json_agg(aggregate_order_by(column, column))
        )
        return select(agg).where(key == _d.id).scalar_subquery()

    published = (DatasetVersion.dataset_id == _d.id) & (
        DatasetVersion.state == VersionState.published
    )
    newest = select(DatasetVersion).where(published).order_by(DatasetVersion.number.desc())
    return (
        select(
            *_d, Organisation.name.label("org_name"), Organisation.title.label("org_title"),
            Licence.name.label("licence_name"), Licence.url.label("licence_url"),
            Agreement.name.label("agreement_name"),
            cast(listed(DatasetTag.tag, DatasetTag.dataset_id), String).label("tag_list"),
            cast(listed(DatasetTheme.theme, DatasetTheme.dataset_id), String).label("theme_list"),
            newest.with_only_columns(DatasetVersion.number).limit(1).scalar_subquery()
            .label("latest_number"),
            newest.with_only_columns(DatasetVersion.published_at).limit(1).scalar_subquery()
            .label("latest_published_at"),
        )
        .join(Organisation, Organisation.id == _d.organisation_id)
        .outerjoin(Licence, Licence.id == _d.licence_id)
        .outerjoin(Agreement, Agreement.id == _d.agreement_id)
        .where(_d.id.in_(_IDS))
    )  # fmt: skip


# Built once: building a statement costs more than running it on 20 rows.
_STATEMENTS = {True: _statement(True), False: _statement(False)}


def dataset_cards(session: Session, ids: list[int]) -> list[DatasetPublic]:
    """The bodies of the datasets ``ids``, in that order (ids that are gone are skipped)."""
    if not ids:
        return []
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = session.execute(_STATEMENTS[sqlite], {"ids": ids}).mappings().all()
    tags = {row["id"]: _strings(row["tag_list"], sort=sqlite) for row in rows}
    themes = {row["id"]: _strings(row["theme_list"], sort=sqlite) for row in rows}
    latest = {
        row["id"]: VersionRef(
            number=row["latest_number"],
            state=VersionState.published,
            published_at=row["latest_published_at"],
        )
        for row in rows
        if row["latest_number"] is not None
    }
    by_id = {row["id"]: row for row in rows}
    cards = []
    for dataset_id in ids:
        row = by_id.get(dataset_id)
        if row is None:
            continue
        # Field for field as catalog.presenters.dataset_public.
        cards.append(DatasetPublic(
            organisation=OrganisationRef(name=row["org_name"], title=row["org_title"]),
            name=row["name"],
            title=row["title"],
            description=row["description"],
            tags=tags.get(dataset_id, []),
            themes=themes.get(dataset_id, []),
            visibility=row["visibility"],
            contact_name=row["contact_name"],
            contact_email=row["contact_email"],
            homepage=row["homepage"],
            licence=LicenceRef(
                id=row["licence_id"], name=row["licence_name"], url=row["licence_url"]
            ) if row["licence_id"] is not None else None,
            agreement=row["agreement_name"],
            provenance=Provenance(
                source=row["source"],
                collection_method=row["collection_method"],
                temporal_start=row["temporal_start"],
                temporal_end=row["temporal_end"],
                spatial_coverage=row["spatial_coverage"],
                contains_personal_data=row["contains_personal_data"],
                personal_data_legal_basis=row["personal_data_legal_basis"],
            ),
            quality=QualitySummary(status=row["quality_status"], score=row["quality_score"])
            if row["quality_status"]
            else None,
            latest_version=latest.get(dataset_id),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        ))  # fmt: skip
    return cards


def _strings(listed: str | None, *, sort: bool) -> list[str]:
    values: list[str] = [v for v in json.loads(listed or "[]") if v is not None]
    return sorted(values) if sort else values
