"""/api/v1/organisations: partners, their members and their data-sharing agreements."""

from __future__ import annotations

from fastapi import APIRouter, status

from catalog.deps import CurrentPrincipal, SessionDep
from catalog.licences import get_agreement, list_agreements, register_agreement
from catalog.organisations import (
    create_organisation,
    get_organisation,
    list_members,
    list_organisations,
    update_organisation,
)
from catalog.presenters import agreement_public
from catalog.principal import denied
from catalog.routes.paging import PageDep
from catalog.schemas import (
    AgreementCreate,
    AgreementPublic,
    AgreementsPublic,
    MemberPublic,
    MemberSet,
    MembersPublic,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationsPublic,
    OrganisationUpdate,
    Slug,
)
from catalog.users import get_user, remove_membership, set_membership

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("")
def list_(session: SessionDep, page: PageDep) -> OrganisationsPublic:
    rows, count = list_organisations(session, offset=page.offset, limit=page.page_size)
    return OrganisationsPublic(
        data=[OrganisationPublic.model_validate(o) for o in rows], count=count
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    body: OrganisationCreate, session: SessionDep, principal: CurrentPrincipal
) -> OrganisationPublic:
    organisation = create_organisation(session, principal=principal, **body.model_dump())
    return OrganisationPublic.model_validate(organisation)


@router.get("/{name}")
def read(name: str, session: SessionDep) -> OrganisationPublic:
    return OrganisationPublic.model_validate(get_organisation(session, name))


@router.patch("/{name}")
def update(
    name: str, body: OrganisationUpdate, session: SessionDep, principal: CurrentPrincipal
) -> OrganisationPublic:
    organisation = update_organisation(
        session,
        principal=principal,
        organisation=get_organisation(session, name),
        **body.model_dump(exclude_unset=True),
    )
    return OrganisationPublic.model_validate(organisation)


@router.get("/{name}/members")
def members(name: str, session: SessionDep, principal: CurrentPrincipal) -> MembersPublic:
    rows = list_members(session, principal=principal, organisation=get_organisation(session, name))
    return MembersPublic(
        data=[MemberPublic(username=m.user.username, role=m.role) for m in rows],
        count=len(rows),
    )


@router.put("/{name}/members/{username}")
def set_member(
    name: str, username: str, body: MemberSet, session: SessionDep, principal: CurrentPrincipal
) -> MemberPublic:
    organisation = get_organisation(session, name)
    if not principal.can_administer(organisation.id):
        raise denied(principal, f"only an admin of {name!r} manages its members")
    membership = set_membership(
        session, user=get_user(session, username), organisation=organisation, role=body.role
    )
    return MemberPublic(username=username, role=membership.role)


@router.delete("/{name}/members/{username}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    name: str, username: str, session: SessionDep, principal: CurrentPrincipal
) -> None:
    organisation = get_organisation(session, name)
    if not principal.can_administer(organisation.id):
        raise denied(principal, f"only an admin of {name!r} manages its members")
    remove_membership(session, user=get_user(session, username), organisation=organisation)


@router.get("/{name}/agreements")
def agreements(name: str, session: SessionDep) -> AgreementsPublic:
    organisation = get_organisation(session, name)
    rows = list_agreements(session, organisation=organisation)
    return AgreementsPublic(data=[agreement_public(a, organisation) for a in rows], count=len(rows))


@router.post("/{name}/agreements", status_code=status.HTTP_201_CREATED)
def register(
    name: str, body: AgreementCreate, session: SessionDep, principal: CurrentPrincipal
) -> AgreementPublic:
    """Register an agreement; posting an existing name registers its next version."""
    organisation = get_organisation(session, name)
    if not principal.can_administer(organisation.id):
        raise denied(principal, f"only an admin of {name!r} registers its agreements")
    user = get_user(session, principal.username) if principal.username else None
    agreement = register_agreement(
        session, organisation=organisation, created_by=user, **body.model_dump()
    )
    return agreement_public(agreement, organisation)


@router.get("/{name}/agreements/{agreement}")
def read_agreement(
    name: str, agreement: Slug, session: SessionDep, version: int | None = None
) -> AgreementPublic:
    organisation = get_organisation(session, name)
    row = get_agreement(session, organisation=organisation, name=agreement, version=version)
    return agreement_public(row, organisation)
