"""Users and their memberships in organisations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import Conflict, NotFound
from catalog.models import Membership, Organisation, Role, User
from catalog.principal import Principal


def create_user(
    session: Session,
    *,
    username: str,
    email: str,
    full_name: str = "",
    is_sysadmin: bool = False,
) -> User:
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username!r} already exists", field="username")
    user = User(username=username, email=email, full_name=full_name, is_sysadmin=is_sysadmin)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def set_membership(
    session: Session, *, user: User, organisation: Organisation, role: Role
) -> Membership:
    """Add the user to the organisation with ``role``, or change the role they have there."""
    membership = session.get(Membership, (user.id, organisation.id))
    if membership is None:
        membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def remove_membership(session: Session, *, user: User, organisation: Organisation) -> None:
    membership = session.get(Membership, (user.id, organisation.id))
    if membership is None:
        raise NotFound(
            f"{user.username!r} is not a member of {organisation.name!r}", field="username"
        )
    session.delete(membership)
    session.flush()


def principal_for_user(session: Session, user: User) -> Principal:
    roles = {
        m.organisation_id: m.role
        for m in session.scalars(select(Membership).where(Membership.user_id == user.id))
    }
    return Principal(
        user_id=user.id, username=user.username, is_sysadmin=user.is_sysadmin, roles=roles
    )
