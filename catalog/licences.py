"""Licences: the SPDX list shipped with the project, and organisations' agreements."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.errors import InvalidInput, NotFound
from catalog.models import Agreement, Licence, Organisation, User


@cache
def shipped_spdx_licences() -> tuple[dict[str, Any], ...]:
    text = resources.files("catalog").joinpath("data/spdx_licences.json").read_text("utf-8")
    return tuple(json.loads(text))


def sync_spdx_licences(session: Session) -> int:
    """Insert or update every shipped SPDX licence; returns how many rows changed."""
    existing = {lic.id: lic for lic in session.scalars(select(Licence))}
    changed = 0
    for row in shipped_spdx_licences():
        current = existing.get(row["id"])
        if current is None:
            session.add(Licence(**row))
            changed += 1
            continue
        for key, value in row.items():
            if getattr(current, key) != value:
                setattr(current, key, value)
                changed += 1 if key != "id" else 0
    session.flush()
    return changed


def get_licence(session: Session, licence_id: str) -> Licence:
    licence = session.get(Licence, licence_id)
    if licence is None:
        # SPDX ids are case-insensitive; accept "cc-by-4.0" but store the canonical id.
        licence = session.scalars(
            select(Licence).where(func.lower(Licence.id) == licence_id.lower())
        ).first()
    if licence is None:
        raise NotFound(f"unknown licence {licence_id!r}; see /api/v1/licences", field="licence")
    return licence


def require_licence(
    session: Session,
    *,
    organisation: Organisation,
    dataset_licensed: bool,
    licence: str | None,
    agreement: str | None,
) -> None:
    """What publishing needs: a known SPDX licence, a registered agreement of the
    organisation, or (when neither is given) a licence already on the dataset."""
    if licence:
        get_licence(session, licence)  # NotFound names the unknown id
    elif agreement:
        get_agreement(session, organisation=organisation, name=agreement)
    elif not dataset_licensed:
        raise InvalidInput(
            "a licence is required: an SPDX id (see /api/v1/licences) or an agreement",
            field="licence",
        )


def list_licences(
    session: Session,
    *,
    open_data: bool | None = None,
    osi_approved: bool | None = None,
    q: str | None = None,
    include_deprecated: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Licence], int]:
    query = select(Licence)
    if open_data is not None:
        query = query.where(Licence.open_data.is_(open_data))
    if osi_approved is not None:
        query = query.where(Licence.osi_approved.is_(osi_approved))
    if not include_deprecated:
        query = query.where(Licence.deprecated.is_(False))
    if q:
        needle = f"%{q.lower()}%"
        query = query.where(
            func.lower(Licence.id).like(needle) | func.lower(Licence.name).like(needle)
        )
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Licence.id).offset(offset).limit(limit)).all()
    return list(rows), count


def register_agreement(
    session: Session,
    *,
    organisation: Organisation,
    name: str,
    title: str,
    text: str,
    created_by: User | None,
) -> Agreement:
    """Register a new version of an organisation's agreement (1 for a new name)."""
    if not text.strip():
        raise InvalidInput("the agreement text is empty", field="text")
    latest = session.scalar(
        select(func.max(Agreement.version)).where(
            Agreement.organisation_id == organisation.id, Agreement.name == name
        )
    )
    agreement = Agreement(
        organisation_id=organisation.id,
        name=name,
        version=(latest or 0) + 1,
        title=title,
        text=text,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(agreement)
    session.flush()
    return agreement


def list_agreements(session: Session, *, organisation: Organisation) -> list[Agreement]:
    return list(
        session.scalars(
            select(Agreement)
            .where(Agreement.organisation_id == organisation.id)
            .order_by(Agreement.name, Agreement.version)
        )
    )


def get_agreement(
    session: Session, *, organisation: Organisation, name: str, version: int | None = None
) -> Agreement:
    query = select(Agreement).where(
        Agreement.organisation_id == organisation.id, Agreement.name == name
    )
    if version is None:
        query = query.order_by(Agreement.version.desc())
    else:
        query = query.where(Agreement.version == version)
    agreement = session.scalars(query.limit(1)).first()
    if agreement is None:
        raise NotFound(
            f"no agreement {name!r} in organisation {organisation.name!r}", field="agreement"
        )
    return agreement
