"""/api/v1/datasets: search, create, read, update."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from catalog.datasets import create_dataset, get_dataset, update_dataset
from catalog.deps import CurrentPrincipal, SessionDep
from catalog.models import Visibility
from catalog.organisations import get_organisation
from catalog.presenters import dataset_public
from catalog.routes.paging import PageDep
from catalog.schemas import DatasetCreate, DatasetPublic, DatasetsPublic, DatasetUpdate, FacetValue
from catalog.search import search_datasets
from catalog.versions import latest_published

router = APIRouter(prefix="/datasets", tags=["datasets"])

FilterValues = Annotated[list[Annotated[str, Query(max_length=100)]], Query(max_length=20)]


@router.get("")
def search(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=500, description="full-text query")] = None,
    organisation: FilterValues = [],  # noqa: B006 - FastAPI copies defaults
    tag: FilterValues = [],  # noqa: B006
    theme: FilterValues = [],  # noqa: B006
    licence: FilterValues = [],  # noqa: B006
    format: FilterValues = [],  # noqa: B006
    visibility: Annotated[list[Visibility], Query(max_length=4)] = [],  # noqa: B006
    personal_data: bool | None = None,
    quality: Annotated[list[Literal["passed", "warnings", "failed"]], Query(max_length=3)] = [],  # noqa: B006
    sort: Literal["relevance", "title", "updated", "created"] = "relevance",
) -> DatasetsPublic:
    """Full-text search with filters (repeat a filter to OR its values), facets and paging."""
    result = search_datasets(
        session,
        principal=principal,
        q=q,
        organisations=organisation,
        tags=tag,
        themes=theme,
        licences=licence,
        formats=format,
        visibility=visibility,
        personal_data=personal_data,
        quality=quality,
        sort=sort,
        offset=page.offset,
        limit=page.page_size,
    )
    latest = latest_published(session, [d.id for d in result.datasets])
    return DatasetsPublic(
        data=[dataset_public(d, latest.get(d.id)) for d in result.datasets],
        count=result.count,
        page=page.page,
        page_size=page.page_size,
        facets={
            name: [FacetValue(value=f.value, count=f.count) for f in values]
            for name, values in result.facets.items()
        },
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: DatasetCreate, session: SessionDep, principal: CurrentPrincipal) -> DatasetPublic:
    fields = body.model_dump(exclude={"organisation", "name", "title"})
    dataset = create_dataset(
        session,
        principal=principal,
        organisation=get_organisation(session, body.organisation),
        name=body.name,
        title=body.title,
        **fields,
    )
    return dataset_public(dataset, None)


@router.get("/{organisation}/{name}")
def read(
    organisation: str, name: str, session: SessionDep, principal: CurrentPrincipal
) -> DatasetPublic:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    return dataset_public(dataset, latest_published(session, [dataset.id]).get(dataset.id))


@router.patch("/{organisation}/{name}")
def update(
    organisation: str,
    name: str,
    body: DatasetUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> DatasetPublic:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    dataset = update_dataset(
        session, principal=principal, dataset=dataset, **body.model_dump(exclude_unset=True)
    )
    return dataset_public(dataset, latest_published(session, [dataset.id]).get(dataset.id))
