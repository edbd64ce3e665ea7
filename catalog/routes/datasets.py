"""/api/v1/datasets: search, create, read, update."""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response, status

from catalog.datasets import create_dataset, get_dataset, update_dataset
from catalog.db import session_scope
from catalog.deps import CurrentPrincipal, SessionDep, get_principal
from catalog.models import Visibility
from catalog.organisations import get_organisation
from catalog.presenters import dataset_public
from catalog.routes.paging import MAX_PAGE_SIZE, Page
from catalog.schemas import DatasetCreate, DatasetPublic, DatasetsPublic, DatasetUpdate
from catalog.search import search_datasets
from catalog.search.cards import card_bodies
from catalog.versions import latest_published

router = APIRouter(prefix="/datasets", tags=["datasets"])

FilterValues = Annotated[list[Annotated[str, Query(max_length=100)]], Query(max_length=20)]


@router.get("", response_model=DatasetsPublic)
async def search(
    request: Request,
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
    page: Annotated[int, Query(ge=1, le=10_000, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Response:
    """Full-text search with filters (repeat a filter to OR its values), facets and paging.

    Unlike the other routes this one is ``async`` and takes no session or principal
    dependency: it does all its blocking work (session, authentication, search, commit) in
    one worker-thread call. Each sync dependency (and a sync endpoint) is a hop between the
    event loop and the thread pool, and with five of them the hops cost as much as the
    search itself (docs/benchmarks.md, "Catalog search"). The body is serialised there too
    and returned as a ready response: FastAPI would otherwise validate the model it was just
    built from all over again. The datasets' bodies come serialised from the searched
    snapshot's cache (``catalog.search.card_cache``).
    """
    paging = Page(page=page, page_size=page_size)
    call = functools.partial(
        _search, request, paging, q=q, organisations=organisation, tags=tag, themes=theme,
        licences=licence, formats=format, visibility=visibility, personal_data=personal_data,
        quality=quality, sort=sort,
    )  # fmt: skip
    return await anyio.to_thread.run_sync(call, limiter=_limiter())


# Searches run in at most this many worker threads at a time (per event loop, so per
# process under uvicorn). A cached search is ~2 ms of Python holding the GIL; with 16 in
# flight in 16 threads they mostly contend for it. Two (one computing while the other waits
# on the database) gave ~25 % more searches per second on SQLite and ~10 % on PostgreSQL
# than the default pool of 40 (docs/benchmarks.md). The price: a slow search (a snapshot
# load, a full-text match that is not cached, a title sort) holds up the ones behind it.
SEARCH_THREADS = 2
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(SEARCH_THREADS)
    return limiter


def _search(request: Request, paging: Page, **params: Any) -> Response:
    with session_scope(request.app.state.session_factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Nothing here writes, and each statement already sees its own snapshot (READ
            # COMMITTED; the change log is read in one statement), so a transaction would
            # only add the BEGIN and COMMIT round trips (docs/benchmarks.md).
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        result = search_datasets(
            session,
            principal=get_principal(request, session),
            offset=paging.offset,
            limit=paging.page_size,
            rows=False,  # the bodies come from card_bodies, without ORM objects
            **params,
        )
        cards = card_bodies(session, result.ids, result.cards)
        head = DatasetsPublic.model_validate({
            "data": [],
            "count": result.count,
            "page": paging.page,
            "page_size": paging.page_size,
            "facets": {
                name: [{"value": f.value, "count": f.count} for f in values]
                for name, values in result.facets.items()
            },
        }).model_dump_json().encode()  # fmt: skip
    return Response(with_data(head, cards), media_type="application/json")


_EMPTY_DATA = b'{"data":[]'


def with_data(head: bytes, cards: list[bytes]) -> bytes:
    """``head`` (a ``DatasetsPublic`` body with no data) with ``cards`` as its data: the
    same bytes as serialising the whole model, from bodies serialised (and cached) one by
    one (``catalog.search.card_cache``)."""
    if not head.startswith(_EMPTY_DATA):  # data is the model's first field
        raise AssertionError("DatasetsPublic no longer serialises data first")
    return b'{"data":[' + b",".join(cards) + b"]" + head[len(_EMPTY_DATA) :]


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
