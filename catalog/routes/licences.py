"""/api/v1/licences: the shipped SPDX licence list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from catalog.deps import SessionDep
from catalog.licences import get_licence, list_licences
from catalog.routes.paging import PageDep
from catalog.schemas import LicencePublic, LicencesPublic

router = APIRouter(prefix="/licences", tags=["licences"])


@router.get("")
def list_(
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    open_data: bool | None = None,
    osi_approved: bool | None = None,
    include_deprecated: bool = False,
) -> LicencesPublic:
    rows, count = list_licences(
        session,
        q=q,
        open_data=open_data,
        osi_approved=osi_approved,
        include_deprecated=include_deprecated,
        offset=page.offset,
        limit=page.page_size,
    )
    return LicencesPublic(data=[LicencePublic.model_validate(r) for r in rows], count=count)


@router.get("/{licence_id}")
def read(licence_id: str, session: SessionDep) -> LicencePublic:
    return LicencePublic.model_validate(get_licence(session, licence_id))
