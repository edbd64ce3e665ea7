"""Who is asking: the principal every service call is made on behalf of.

The catalog only consumes principals; ``access`` makes them from credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, true

from catalog.errors import NotAuthenticated, PermissionDenied
from catalog.models import Dataset, Role, Visibility


@dataclass(frozen=True)
class Principal:
    user_id: int | None = None
    username: str | None = None
    is_sysadmin: bool = False
    # organisation id -> the principal's role there
    roles: Mapping[int, Role] = field(default_factory=dict)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_partner(self) -> bool:
        """Members of any organisation see partner-visible metadata."""
        return self.is_sysadmin or bool(self.roles)

    def role_in(self, organisation_id: int) -> Role | None:
        return self.roles.get(organisation_id)

    def can_write(self, organisation_id: int) -> bool:
        """Publishers and admins of the owning organisation write its datasets."""
        if self.is_sysadmin:
            return True
        return self.role_in(organisation_id) in {Role.admin, Role.publisher}

    def can_administer(self, organisation_id: int) -> bool:
        return self.is_sysadmin or self.role_in(organisation_id) is Role.admin


ANONYMOUS = Principal()


def can_see_metadata(principal: Principal, dataset: Dataset) -> bool:
    if principal.is_sysadmin or dataset.visibility is Visibility.public:
        return True
    if dataset.organisation_id in principal.roles:
        return True
    # Restricted metadata is discoverable by partners; the data needs a grant.
    return principal.is_partner and dataset.visibility in {
        Visibility.partners,
        Visibility.restricted,
    }


def visible_datasets(principal: Principal) -> ColumnElement[bool]:
    """The SQL twin of can_see_metadata, for listing and search queries."""
    if principal.is_sysadmin:
        return true()
    if not principal.is_partner:
        return Dataset.visibility == Visibility.public
    return Dataset.visibility.in_(
        [Visibility.public, Visibility.partners, Visibility.restricted]
    ) | Dataset.organisation_id.in_(list(principal.roles))


def denied(principal: Principal, message: str) -> NotAuthenticated | PermissionDenied:
    """The error to raise when ``principal`` may not act: 401 if anonymous, else 403."""
    if not principal.is_authenticated:
        return NotAuthenticated(f"sign in first: {message}")
    return PermissionDenied(message)
