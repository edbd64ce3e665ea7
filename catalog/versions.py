"""Dataset versions and their files.

A version is numbered 1, 2, … per dataset and never changes once it leaves ``draft``; only
its state moves, along ALLOWED_TRANSITIONS. Publishing checks every file against the object
store (size and sha256) first, then flips the state in the caller's one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from catalog.errors import Conflict, InvalidInput, NotFound
from catalog.licences import get_licence
from catalog.models import Dataset, DatasetFile, DatasetVersion, VersionState, utcnow
from catalog.principal import Principal, denied
from catalog.storage.base import InvalidKey, ObjectNotFound, ObjectStore

ALLOWED_TRANSITIONS: dict[VersionState, frozenset[VersionState]] = {
    VersionState.draft: frozenset(
        {
            VersionState.validating,
            VersionState.published,
            VersionState.rejected,
        }
    ),
    VersionState.validating: frozenset(
        {
            VersionState.needs_review,
            VersionState.published,
            VersionState.rejected,
        }
    ),
    VersionState.needs_review: frozenset({VersionState.published, VersionState.rejected}),
    VersionState.published: frozenset({VersionState.withdrawn}),
    VersionState.rejected: frozenset(),
    VersionState.withdrawn: frozenset(),
}
PUBLIC_STATES = frozenset({VersionState.published, VersionState.withdrawn})


def version_prefix(dataset: Dataset, number: int) -> str:
    return f"datasets/{dataset.organisation.name}/{dataset.name}/v{number}/"


def _can_see_unpublished(principal: Principal, dataset: Dataset) -> bool:
    return principal.is_sysadmin or principal.role_in(dataset.organisation_id) is not None


def create_version(
    session: Session,
    *,
    principal: Principal,
    dataset: Dataset,
    changelog: str = "",
    licence: str | None = None,
    attribution: str | None = None,
) -> DatasetVersion:
    if not principal.can_write(dataset.organisation_id):
        raise denied(principal, "only publishers and admins of the organisation add versions")
    number = (
        session.scalar(
            select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    ) + 1
    version = DatasetVersion(
        dataset_id=dataset.id,
        dataset=dataset,
        number=number,
        state=VersionState.draft,
        changelog=changelog,
        attribution=attribution,
        created_by_id=principal.user_id,
        licence_id=get_licence(session, licence).id if licence else dataset.licence_id,
        agreement_id=dataset.agreement_id,
    )
    session.add(version)
    session.flush()
    return version


def list_versions(
    session: Session, *, principal: Principal, dataset: Dataset
) -> list[DatasetVersion]:
    query = (
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .options(selectinload(DatasetVersion.files))
        .order_by(DatasetVersion.number)
    )
    if not _can_see_unpublished(principal, dataset):
        query = query.where(DatasetVersion.state.in_(PUBLIC_STATES))
    return list(session.scalars(query))


def get_version(
    session: Session, *, principal: Principal, dataset: Dataset, number: int
) -> DatasetVersion:
    version = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number)
        .options(selectinload(DatasetVersion.files))
    ).first()
    if version is None or (
        version.state not in PUBLIC_STATES and not _can_see_unpublished(principal, dataset)
    ):
        raise NotFound(
            f"no version {number} of {dataset.organisation.name}/{dataset.name}", field="version"
        )
    return version


def update_version(
    session: Session,
    *,
    principal: Principal,
    version: DatasetVersion,
    changelog: str | None = None,
    attribution: str | None = None,
    licence: str | None = None,
) -> DatasetVersion:
    _require_writer(principal, version)
    _require_draft(version)
    if changelog is not None:
        version.changelog = changelog
    if attribution is not None:
        version.attribution = attribution
    if licence is not None:
        version.licence_id = get_licence(session, licence).id
    session.flush()
    return version


def add_file(
    session: Session,
    *,
    principal: Principal,
    store: ObjectStore,
    version: DatasetVersion,
    key: str,
    format: str,
    media_type: str,
    role: str = "data",
    row_count: int | None = None,
    arrow_schema: Any = None,
    column_stats: Any = None,
    written: tuple[int, str] | None = None,
) -> DatasetFile:
    """Record an object already written under the version's prefix.

    Size and sha256 are measured from the store, never taken from an API caller. A pipeline
    that wrote the object itself passes ``written`` (size, sha256, of the bytes it sent) to
    skip one read of it: publish_version verifies every object against the store anyway.
    """
    _require_writer(principal, version)
    _require_draft(version)
    if any(f.key == key for f in version.files):
        raise Conflict(f"version {version.number} already has a file {key!r}", field="key")
    full_key = version_prefix(version.dataset, version.number) + key
    try:
        size, sha256 = written if written is not None else _measure(store, full_key)
    except InvalidKey as exc:
        raise InvalidInput(f"invalid key {key!r}: {exc}", field="key") from exc
    except ObjectNotFound as exc:
        raise InvalidInput(f"no object at {full_key!r}; upload it first", field="key") from exc
    file = DatasetFile(
        version_id=version.id,
        key=key,
        role=role,
        format=format,
        media_type=media_type,
        size=size,
        sha256=sha256,
        row_count=row_count,
        arrow_schema=arrow_schema,
        column_stats=column_stats,
    )
    version.files.append(file)
    session.flush()
    return file


def upload_url(
    *,
    principal: Principal,
    store: ObjectStore,
    version: DatasetVersion,
    key: str,
    expires_in: int,
) -> str:
    """A signed PUT URL for one object under a draft version's prefix."""
    _require_writer(principal, version)
    _require_draft(version)
    try:
        return store.signed_url(
            version_prefix(version.dataset, version.number) + key,
            method="PUT",
            expires_in=expires_in,
        )
    except InvalidKey as exc:
        raise InvalidInput(f"invalid key {key!r}: {exc}", field="key") from exc


def get_file(version: DatasetVersion, file_id: int) -> DatasetFile:
    for file in version.files:
        if file.id == file_id:
            return file
    raise NotFound(f"no file {file_id} in version {version.number}", field="file")


def publish_version(
    session: Session,
    *,
    principal: Principal,
    store: ObjectStore,
    version: DatasetVersion,
    written: Collection[str] = frozenset(),
) -> DatasetVersion:
    """Verify every object, then publish. Nothing is visible unless all checks pass.

    Each object is read back for its size and sha256, except those whose keys (relative to
    the version, as files record them) are in ``written``: objects the caller wrote itself
    with ``store.put(..., sha256=)`` or ``compose``, the sha256 computed from the bytes it
    sent (the ingest pipeline). For those a HEAD shows that the object is there, with the
    recorded size and the recorded sha256 stored with it. Never pass objects uploaded to
    signed URLs: their sha256 is only known by reading them.
    """
    _require_writer(principal, version)
    if version.licence_id is None and version.agreement_id is None:
        raise InvalidInput(
            "a version needs a licence or an agreement to be published", field="licence"
        )
    if not version.files:
        raise InvalidInput("a version needs at least one file to be published", field="files")
    prefix = version_prefix(version.dataset, version.number)
    for file in version.files:
        try:
            size, sha256 = _check(store, prefix + file.key, written=file.key in written)
        except ObjectNotFound as exc:
            raise Conflict(f"object of file {file.key!r} is missing", field="files") from exc
        if (size, sha256) != (file.size, file.sha256):
            raise Conflict(
                f"object of file {file.key!r} changed since it was recorded", field="files"
            )
    transition(version, VersionState.published)
    version.published_at = utcnow()
    version.published_by_id = principal.user_id
    session.flush()
    return version


def withdraw_version(
    session: Session, *, principal: Principal, version: DatasetVersion, reason: str
) -> DatasetVersion:
    if not principal.can_administer(version.dataset.organisation_id):
        raise denied(principal, "only an admin of the organisation withdraws a version")
    transition(version, VersionState.withdrawn, reason=reason)
    session.flush()
    return version


def transition(version: DatasetVersion, target: VersionState, *, reason: str | None = None) -> None:
    if target not in ALLOWED_TRANSITIONS[version.state]:
        raise Conflict(
            f"version {version.number} is {version.state.value}; it cannot become {target.value}",
            field="state",
        )
    version.state = target
    if reason is not None:
        version.state_reason = reason


def _require_writer(principal: Principal, version: DatasetVersion) -> None:
    if not principal.can_write(version.dataset.organisation_id):
        raise denied(principal, "only publishers and admins of the organisation change versions")


def _require_draft(version: DatasetVersion) -> None:
    if version.state is not VersionState.draft:
        raise Conflict(
            f"version {version.number} is {version.state.value}; only drafts change", field="state"
        )


def _check(store: ObjectStore, key: str, *, written: bool) -> tuple[int, str]:
    """The object's size and sha256: as the store records them for an object the caller
    wrote with its sha256, otherwise (or if no sha256 is recorded: it was replaced since)
    by reading it."""
    if written:
        info = store.head(key)
        if info.sha256 is not None:
            return info.size, info.sha256
    return _measure(store, key)


def _measure(store: ObjectStore, key: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in store.get(key):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def latest_published(session: Session, dataset_ids: list[int]) -> dict[int, DatasetVersion]:
    """The newest published version of each dataset, in one query (for listings)."""
    if not dataset_ids:
        return {}
    newest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("number"))
        .where(
            DatasetVersion.dataset_id.in_(dataset_ids),
            DatasetVersion.state == VersionState.published,
        )
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    rows = session.scalars(
        select(DatasetVersion).join(
            newest,
            (DatasetVersion.dataset_id == newest.c.dataset_id)
            & (DatasetVersion.number == newest.c.number),
        )
    )
    return {v.dataset_id: v for v in rows}


def review_version(
    session: Session,
    *,
    principal: Principal,
    store: ObjectStore,
    version: DatasetVersion,
    accept: bool,
    reason: str,
) -> DatasetVersion:
    """An organisation admin decides on a version held for review (personal data found)."""
    if not principal.can_administer(version.dataset.organisation_id):
        raise denied(principal, "only an admin of the organisation reviews a version")
    if version.state is not VersionState.needs_review:
        raise Conflict(
            f"version {version.number} is {version.state.value}, not needs-review", field="state"
        )
    if accept:
        publish_version(session, principal=principal, store=store, version=version)
        version.state_reason = f"accepted in review: {reason}"
    else:
        transition(version, VersionState.rejected, reason=f"rejected in review: {reason}")
    session.flush()
    return version


def purge_rejected(
    session: Session, *, store: ObjectStore, older_than: datetime, batch: int = 50
) -> int:
    """Delete the objects of versions rejected before ``older_than`` (kept until then for
    inspection); the versions, files and reports stay as the record. Returns how many."""
    versions = session.scalars(
        select(DatasetVersion)
        .where(
            DatasetVersion.state == VersionState.rejected,
            DatasetVersion.objects_purged_at.is_(None),
            DatasetVersion.created_at < older_than,
        )
        .order_by(DatasetVersion.id)
        .limit(batch)
    ).all()
    for version in versions:
        for info in list(store.list(version_prefix(version.dataset, version.number))):
            store.delete(info.key)
        version.objects_purged_at = utcnow()
    session.flush()
    return len(versions)


def previous_published(session: Session, version: DatasetVersion) -> DatasetVersion | None:
    """The newest published version before ``version`` (what a new version is compared to)."""
    return session.scalars(
        select(DatasetVersion)
        .where(
            DatasetVersion.dataset_id == version.dataset_id,
            DatasetVersion.state == VersionState.published,
            DatasetVersion.number < version.number,
        )
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
