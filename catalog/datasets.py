"""Datasets: create, read and update, with the caller's visibility applied.

A dataset the caller may not see is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.licences import get_agreement, get_licence
from catalog.models import Dataset, DatasetTag, DatasetTheme, Organisation, Visibility, utcnow
from catalog.principal import Principal, can_see_metadata, denied
from catalog.search import index_dataset
from catalog.themes import THEMES

# Fields a caller may change after creation (organisation and name identify the dataset).
UPDATABLE = frozenset(
    {
        "title",
        "description",
        "visibility",
        "contact_name",
        "contact_email",
        "homepage",
        "licence",
        "agreement",
        "source",
        "collection_method",
        "temporal_start",
        "temporal_end",
        "spatial_coverage",
        "contains_personal_data",
        "personal_data_legal_basis",
        "tags",
        "themes",
    }
)


def create_dataset(
    session: Session,
    *,
    principal: Principal,
    organisation: Organisation,
    name: str,
    title: str,
    **fields: Any,
) -> Dataset:
    if not principal.can_write(organisation.id):
        raise denied(
            principal, f"only publishers and admins of {organisation.name!r} create its datasets"
        )
    taken = session.scalars(
        select(Dataset.id).where(Dataset.organisation_id == organisation.id, Dataset.name == name)
    ).first()
    if taken is not None:
        raise Conflict(f"dataset {organisation.name}/{name} already exists", field="name")
    dataset = Dataset(
        organisation_id=organisation.id,
        organisation=organisation,
        name=name,
        title=title,
        visibility=Visibility.private,
        created_by_id=principal.user_id,
    )
    session.add(dataset)
    _apply(session, dataset, fields)
    session.flush()
    index_dataset(session, dataset)
    return dataset


def update_dataset(
    session: Session, *, principal: Principal, dataset: Dataset, **fields: Any
) -> Dataset:
    if not principal.can_write(dataset.organisation_id):
        raise denied(
            principal,
            f"only publishers and admins of {dataset.organisation.name!r} change its datasets",
        )
    _apply(session, dataset, fields)
    dataset.updated_at = utcnow()
    session.flush()
    index_dataset(session, dataset)
    return dataset


def get_dataset(session: Session, *, principal: Principal, organisation: str, name: str) -> Dataset:
    dataset = session.scalars(
        select(Dataset)
        .join(Organisation)
        .where(Organisation.name == organisation, Dataset.name == name)
        .options(
            selectinload(Dataset.tag_rows),
            selectinload(Dataset.theme_rows),
            selectinload(Dataset.organisation),
            selectinload(Dataset.licence),
        )
    ).first()
    if dataset is None or not can_see_metadata(principal, dataset):
        raise NotFound(f"no dataset {organisation}/{name}", field="dataset")
    return dataset


def _apply(session: Session, dataset: Dataset, fields: dict[str, Any]) -> None:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise InvalidInput(
            f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    for key, value in fields.items():
        if key == "tags":
            dataset.tag_rows = [DatasetTag(tag=t) for t in _unique(value)]
        elif key == "themes":
            unknown_themes = [t for t in value if t not in THEMES]
            if unknown_themes:
                raise InvalidInput(
                    f"unknown theme {unknown_themes[0]!r}; one of {', '.join(THEMES)}",
                    field="themes",
                )
            dataset.theme_rows = [DatasetTheme(theme=t) for t in _unique(value)]
        elif key == "licence":
            dataset.licence = get_licence(session, value) if value else None
            dataset.licence_id = dataset.licence.id if dataset.licence else None
        elif key == "agreement":
            dataset.agreement = (
                get_agreement(session, organisation=dataset.organisation, name=value)
                if value
                else None
            )
        else:
            setattr(dataset, key, value)
    _check_consistency(dataset)


def _check_consistency(dataset: Dataset) -> None:
    start: date | None = dataset.temporal_start
    end: date | None = dataset.temporal_end
    if start and end and end < start:
        raise InvalidInput("temporal_end is before temporal_start", field="temporal_end")
    if dataset.contains_personal_data and not (dataset.personal_data_legal_basis or "").strip():
        raise InvalidInput(
            "a dataset with personal data must state its legal basis",
            field="personal_data_legal_basis",
        )


def _unique(values: list[str]) -> list[str]:
    return sorted(set(values))
