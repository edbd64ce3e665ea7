"""Organisations (the partners): create, read, update, list, and their members."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from catalog.errors import Conflict, NotFound
from catalog.models import Membership, Organisation
from catalog.principal import Principal, denied
from catalog.search import reindex_organisation


def create_organisation(
    session: Session,
    *,
    principal: Principal,
    name: str,
    title: str,
    description: str = "",
    homepage: str | None = None,
) -> Organisation:
    if not principal.is_sysadmin:
        raise denied(principal, "only a system administrator creates organisations")
    return insert_organisation(
        session, name=name, title=title, description=description, homepage=homepage
    )


def insert_organisation(
    session: Session,
    *,
    name: str,
    title: str,
    description: str = "",
    homepage: str | None = None,
) -> Organisation:
    """Create without a permission check: for the CLI run by the operator on the server."""
    existing = session.scalars(select(Organisation.id).where(Organisation.name == name)).first()
    if existing is not None:
        raise Conflict(f"organisation {name!r} already exists", field="name")
    organisation = Organisation(name=name, title=title, description=description, homepage=homepage)
    session.add(organisation)
    session.flush()
    return organisation


def get_organisation(session: Session, name: str) -> Organisation:
    organisation = session.scalars(select(Organisation).where(Organisation.name == name)).first()
    if organisation is None:
        raise NotFound(f"no organisation {name!r}", field="organisation")
    return organisation


def list_organisations(
    session: Session, *, offset: int = 0, limit: int = 50
) -> tuple[list[Organisation], int]:
    count = session.scalar(select(func.count(Organisation.id))) or 0
    rows = session.scalars(
        select(Organisation).order_by(Organisation.name).offset(offset).limit(limit)
    ).all()
    return list(rows), count


def update_organisation(
    session: Session,
    *,
    principal: Principal,
    organisation: Organisation,
    title: str | None = None,
    description: str | None = None,
    homepage: str | None = None,
) -> Organisation:
    if not principal.can_administer(organisation.id):
        raise denied(principal, f"only an admin of {organisation.name!r} changes it")
    if title is not None and title != organisation.title:
        organisation.title = title
        # The title is in each of its datasets' full-text documents.
        reindex_organisation(session, organisation.id)
    if description is not None:
        organisation.description = description
    if homepage is not None:
        organisation.homepage = homepage
    session.flush()
    return organisation


def list_members(
    session: Session, *, principal: Principal, organisation: Organisation
) -> list[Membership]:
    if not (principal.is_sysadmin or principal.role_in(organisation.id) is not None):
        raise denied(principal, f"only members of {organisation.name!r} see its members")
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.organisation_id == organisation.id)
            .options(selectinload(Membership.user))
            .order_by(Membership.created_at)
        )
    )
