"""/api/v1/users/me: who the presented token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from catalog.deps import CurrentPrincipal, SessionDep
from catalog.errors import NotAuthenticated
from catalog.models import Organisation
from catalog.schemas import UserPublic
from catalog.users import get_user

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(session: SessionDep, principal: CurrentPrincipal) -> UserPublic:
    if principal.username is None:
        raise NotAuthenticated("send 'Authorization: Bearer <token>' to see yourself")
    user = get_user(session, principal.username)
    return UserPublic(
        username=user.username,
        email=user.email,
        full_name=user.full_name,
        is_sysadmin=user.is_sysadmin,
        memberships=[
            {"organisation": session.get_one(Organisation, org_id).name, "role": role.value}
            for org_id, role in principal.roles.items()
        ],
    )
