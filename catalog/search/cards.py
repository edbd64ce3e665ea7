"""The API bodies of a page of search results, read with Core statements.

:func:`dataset_cards` returns what ``dataset_public(dataset, latest_published(...))`` returns
for each dataset (``tests/test_search_snapshot.py`` holds them equal), from one statement
whose rows become the bodies directly. Loading the same page as ORM objects (datasets,
organisations, licences, tag and theme rows, versions: about 140 objects for 20 datasets)
took most of a search's time. :func:`card_bodies` gives the same bodies serialised, kept in
the searched snapshot's cache (:mod:`catalog.search.card_cache`), for the search route.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from catalog.models import (
    Agreement,
    Dataset,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Licence,
    Organisation,
    VersionState,
)
from catalog.schemas import DatasetPublic
from catalog.search.card_cache import CardCache

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
# Table columns, not ORM attributes: a statement of ORM attributes goes through the ORM's
# compile and row-loading steps even when it returns plain rows (~15 % of a cached search).
_d = Dataset.__table__.c
_org = Organisation.__table__.c
_lic = Licence.__table__.c
_agr = Agreement.__table__.c
_tag = DatasetTag.__table__.c
_theme = DatasetTheme.__table__.c
_ver = DatasetVersion.__table__.c


def _statement(sqlite: bool) -> Select[Any]:
    """One statement for the whole page: tags and themes as JSON arrays (PostgreSQL sorts
    them; SQLite 3.40 cannot order inside an aggregate, so Python does, in the same BINARY
    order), and the newest published version (as catalog.versions.latest_published)."""

    def listed(column: Any, key: Any) -> Any:
        agg = (
            func.json_group_array(column)
            if sqlite
            else func.json_agg(aggregate_order_by(column, column))
        )
        return select(agg).where(key == _d.id).scalar_subquery()

    published = (_ver.dataset_id == _d.id) & (_ver.state == VersionState.published)
    newest = select(_ver.number).where(published).order_by(_ver.number.desc()).limit(1)
    return (
        select(
            *_d, _org.name.label("org_name"), _org.title.label("org_title"),
            _lic.name.label("licence_name"), _lic.url.label("licence_url"),
            _agr.name.label("agreement_name"),
            cast(listed(_tag.tag, _tag.dataset_id), String).label("tag_list"),
            cast(listed(_theme.theme, _theme.dataset_id), String).label("theme_list"),
            newest.scalar_subquery().label("latest_number"),
            newest.with_only_columns(_ver.published_at).scalar_subquery()
            .label("latest_published_at"),
        )
        .join(Organisation.__table__, _org.id == _d.organisation_id)
        .outerjoin(Licence.__table__, _lic.id == _d.licence_id)
        .outerjoin(Agreement.__table__, _agr.id == _d.agreement_id)
        .where(_d.id.in_(_IDS))
    )  # fmt: skip


# Built once: building a statement costs more than running it on 20 rows.
_STATEMENTS = {True: _statement(True), False: _statement(False)}


def dataset_cards(session: Session, ids: list[int]) -> list[DatasetPublic]:
    """The bodies of the datasets ``ids``, in that order (ids that are gone are skipped)."""
    cards = _cards_by_id(session, ids)
    return [DatasetPublic.model_validate(cards[i]) for i in ids if i in cards]


def card_bodies(session: Session, ids: list[int], cache: CardCache | None) -> list[bytes]:
    """The datasets' bodies as JSON, in order (ids that are gone are skipped): from ``cache``
    where it has them, the rest read, serialised and added to it."""
    found = cache.get_many(ids) if cache is not None else {}
    missing = [i for i in ids if i not in found]
    if missing:
        read = {
            dataset_id: DatasetPublic.model_validate(card).model_dump_json().encode()
            for dataset_id, card in _cards_by_id(session, missing).items()
        }
        if cache is not None:
            cache.put_many(read)
        found = {**found, **read}
    return [found[i] for i in ids if i in found]


def _cards_by_id(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What :func:`dataset_cards` validates, as plain values, per dataset id (ids that are
    gone are left out)."""
    if not ids:
        return {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = session.connection().execute(_STATEMENTS[sqlite], {"ids": ids}).mappings().all()
    cards = {}
    for row in rows:
        # Field for field as catalog.presenters.dataset_public.
        cards[row["id"]] = {
            "organisation": {"name": row["org_name"], "title": row["org_title"]},
            "name": row["name"],
            "title": row["title"],
            "description": row["description"],
            "tags": _strings(row["tag_list"], sort=sqlite),
            "themes": _strings(row["theme_list"], sort=sqlite),
            "visibility": row["visibility"],
            "contact_name": row["contact_name"],
            "contact_email": row["contact_email"],
            "homepage": row["homepage"],
            "licence": {
                "id": row["licence_id"], "name": row["licence_name"], "url": row["licence_url"]
            } if row["licence_id"] is not None else None,
            "agreement": row["agreement_name"],
            "provenance": {
                "source": row["source"],
                "collection_method": row["collection_method"],
                "temporal_start": row["temporal_start"],
                "temporal_end": row["temporal_end"],
                "spatial_coverage": row["spatial_coverage"],
                "contains_personal_data": row["contains_personal_data"],
                "personal_data_legal_basis": row["personal_data_legal_basis"],
            },
            "quality": {"status": row["quality_status"], "score": row["quality_score"]}
            if row["quality_status"]
            else None,
            "latest_version": {
                "number": row["latest_number"],
                "state": VersionState.published,
                "published_at": row["latest_published_at"],
            } if row["latest_number"] is not None else None,
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }  # fmt: skip
    return cards


def _strings(listed: str | None, *, sort: bool) -> list[str]:
    values: list[str] = [v for v in json.loads(listed or "[]") if v is not None]
    return sorted(values) if sort else values
