"""Plain factory functions for test data (no factory framework)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from access.tokens import create_token
from catalog.models import Organisation, Role, User
from catalog.organisations import insert_organisation
from catalog.users import create_user, set_membership


def make_org(session: Session, name: str = "smhi", title: str | None = None) -> Organisation:
    org = insert_organisation(session, name=name, title=title or name.upper())
    session.commit()
    return org


def make_user(
    session: Session,
    username: str,
    *,
    org: Organisation | None = None,
    role: Role = Role.publisher,
    sysadmin: bool = False,
) -> User:
    user = create_user(
        session, username=username, email=f"{username}@example.org", is_sysadmin=sysadmin
    )
    if org is not None:
        set_membership(session, user=user, organisation=org, role=role)
    session.commit()
    return user


def make_token(session: Session, user: User) -> str:
    _, secret = create_token(session, user=user, name="test")
    session.commit()
    return secret


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
