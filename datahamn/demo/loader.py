"""Loading the demo catalog into the database and object store, and removing it again.

``load_demo`` is idempotent: what already exists is reported and left alone, and each dataset
is created with all its versions in one transaction, so an interrupted run leaves no
half-made dataset. ``reset_demo`` removes the demo organisations, users and objects.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.datasets import create_dataset
from catalog.db import session_scope
from catalog.licences import register_agreement
from catalog.models import Agreement, Dataset, Organisation, Role, User
from catalog.organisations import insert_organisation
from catalog.storage.base import ObjectStore
from catalog.users import create_user, principal_for_user, set_membership
from catalog.versions import add_file, create_version, publish_version, version_prefix
from datahamn.demo.content import (
    AGREEMENT_NAME,
    AGREEMENT_ORG,
    AGREEMENT_TEXT,
    AGREEMENT_TITLE,
    DATASETS,
    ORGANISATIONS,
    SYNTHETIC_NOTE,
    DemoDataset,
    DemoOrganisation,
)

DATA_KEY = "data/part-0.parquet"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


def _email(org: DemoOrganisation) -> str:
    return f"{org.admin.removeprefix('demo-')}@{org.name}.example.org"


# Parquet and file metadata ------------------------------------------------------------------


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def schema_json(schema: pa.Schema) -> dict[str, Any]:
    """The Arrow schema as JSON: field names, Arrow type strings and nullability."""
    return {
        "fields": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def column_stats(table: pa.Table) -> dict[str, dict[str, Any]]:
    """Per column: nulls, and min/max where the type orders (numbers, strings, dates)."""
    stats: dict[str, dict[str, Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        entry: dict[str, Any] = {"nulls": column.null_count}
        kind = column.type
        orderable = (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_string(kind)
            or pa.types.is_temporal(kind)
        )
        if orderable and column.null_count < len(column):
            extremes = pc.min_max(column)
            entry["min"] = _jsonable(extremes["min"].as_py())
            entry["max"] = _jsonable(extremes["max"].as_py())
        stats[name] = entry
    return stats


# Loading ----------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    """What a run created and what it found already there (human-readable lines)."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    objects_written: list[str] = field(default_factory=list)
    organisations: tuple[str, ...] = tuple(o.name for o in ORGANISATIONS)
    users: tuple[str, ...] = tuple(o.admin for o in ORGANISATIONS)
    datasets: tuple[str, ...] = tuple(d.ref for d in DATASETS)
    published_versions: int = sum(len(d.versions) for d in DATASETS)


def load_demo(session_factory: sessionmaker[Session], store: ObjectStore) -> DemoSummary:
    """Create whatever part of the demo catalog is missing; report what was already there."""
    summary = DemoSummary()
    with session_scope(session_factory) as session:
        for org in ORGANISATIONS:
            _ensure_organisation(session, org, summary)
    for spec in DATASETS:
        with session_scope(session_factory) as session:
            _ensure_dataset(session, store, spec, summary)
    return summary


def _ensure_organisation(session: Session, org: DemoOrganisation, summary: DemoSummary) -> None:
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == org.name)
    ).first()
    if organisation is None:
        organisation = insert_organisation(
            session,
            name=org.name,
            title=org.title,
            description=org.description,
            homepage=org.homepage,
        )
        summary.created.append(f"organisation {org.name}")
    else:
        summary.existing.append(f"organisation {org.name}")
    user = session.scalars(select(User).where(User.username == org.admin)).first()
    if user is None:
        user = create_user(session, username=org.admin, email=_email(org), full_name=org.admin_name)
        summary.created.append(f"user {org.admin} (admin of {org.name})")
    else:
        summary.existing.append(f"user {org.admin}")
    set_membership(session, user=user, organisation=organisation, role=Role.admin)
    if org.name == AGREEMENT_ORG:
        has_agreement = session.scalars(
            select(Agreement.id).where(
                Agreement.organisation_id == organisation.id, Agreement.name == AGREEMENT_NAME
            )
        ).first()
        if has_agreement is None:
            register_agreement(
                session,
                organisation=organisation,
                name=AGREEMENT_NAME,
                title=AGREEMENT_TITLE,
                text=AGREEMENT_TEXT,
                created_by=user,
            )
            summary.created.append(f"agreement {org.name}/{AGREEMENT_NAME}")


def _ensure_dataset(
    session: Session, store: ObjectStore, spec: DemoDataset, summary: DemoSummary
) -> None:
    org = next(o for o in ORGANISATIONS if o.name == spec.organisation)
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == spec.organisation)
    ).one()
    exists = session.scalars(
        select(Dataset.id).where(
            Dataset.organisation_id == organisation.id, Dataset.name == spec.name
        )
    ).first()
    if exists is not None:
        summary.existing.append(f"dataset {spec.ref}")
        return
    admin = session.scalars(select(User).where(User.username == org.admin)).one()
    principal = principal_for_user(session, admin)
    dataset = create_dataset(
        session,
        principal=principal,
        organisation=organisation,
        name=spec.name,
        title=spec.title,
        description=spec.description + SYNTHETIC_NOTE,
        visibility=spec.visibility,
        tags=list(spec.tags),
        themes=list(spec.themes),
        licence=spec.licence,
        agreement=spec.agreement,
        contact_name=org.admin_name,
        contact_email=_email(org),
        source=spec.source,
        collection_method=spec.collection_method,
        temporal_start=spec.temporal_start,
        temporal_end=spec.temporal_end,
        spatial_coverage=spec.spatial_coverage,
    )
    for version_spec in spec.versions:
        version = create_version(
            session, principal=principal, dataset=dataset, changelog=version_spec.changelog
        )
        table = version_spec.build()
        key = version_prefix(dataset, version.number) + DATA_KEY
        data = parquet_bytes(table)
        # Written before the transaction commits; a failed run leaves only objects that the
        # next run overwrites with the same bytes.
        store.put(key, io.BytesIO(data), length=len(data), content_type=PARQUET_MEDIA_TYPE)
        summary.objects_written.append(key)
        add_file(
            session,
            principal=principal,
            store=store,
            version=version,
            key=DATA_KEY,
            format="parquet",
            media_type=PARQUET_MEDIA_TYPE,
            row_count=table.num_rows,
            arrow_schema=schema_json(table.schema),
            column_stats=column_stats(table),
        )
        publish_version(session, principal=principal, store=store, version=version)
    summary.created.append(
        f"dataset {spec.ref} ({spec.visibility.value}, {len(spec.versions)} published "
        f"version{'s' if len(spec.versions) != 1 else ''})"
    )


def reset_demo(session_factory: sessionmaker[Session], store: ObjectStore) -> list[str]:
    """Delete the demo organisations (with everything in them), users and objects.

    Anything another user added to a demo organisation goes too: it belongs to the demo.
    """
    removed: list[str] = []
    names = [o.name for o in ORGANISATIONS]
    usernames = [o.admin for o in ORGANISATIONS]
    with session_scope(session_factory) as session:
        found = list(session.scalars(select(Organisation.name).where(Organisation.name.in_(names))))
        # Datasets first: their versions point at the organisation's agreements, and
        # PostgreSQL may check that reference before it reaches the versions in one cascade.
        # The database cascades the rest: versions, files, tags, agreements, memberships.
        org_ids = select(Organisation.id).where(Organisation.name.in_(names))
        session.execute(delete(Dataset).where(Dataset.organisation_id.in_(org_ids)))
        session.execute(delete(Organisation).where(Organisation.name.in_(names)))
        users = list(session.scalars(select(User.username).where(User.username.in_(usernames))))
        session.execute(delete(User).where(User.username.in_(usernames)))
    removed += [f"organisation {n}" for n in found] + [f"user {u}" for u in users]
    # Objects last, and always: a run that failed after the commit left them behind.
    count = 0
    for name in names:
        for info in list(store.list(f"datasets/{name}/")):
            store.delete(info.key)
            count += 1
    if count:
        removed.append(f"{count} object{'s' if count != 1 else ''}")
    return removed
