"""/api/v1/datasets/{organisation}/{name}/versions: versions and their files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy.orm import Session

from catalog.datasets import get_dataset
from catalog.deps import CurrentPrincipal, SessionDep, SettingsDep, StoreDep
from catalog.models import DatasetVersion
from catalog.presenters import version_public
from catalog.principal import Principal
from catalog.schemas import (
    FileCreate,
    FilePublic,
    UploadUrlCreate,
    UploadUrlPublic,
    VersionCreate,
    VersionPublic,
    VersionsPublic,
    VersionUpdate,
    VersionWithdraw,
)
from catalog.versions import (
    add_file,
    create_version,
    get_file,
    get_version,
    list_versions,
    publish_version,
    update_version,
    upload_url,
    withdraw_version,
)

router = APIRouter(prefix="/datasets/{organisation}/{name}/versions", tags=["versions"])
Number = Annotated[int, Path(ge=1, le=1_000_000)]


def _version(
    session: Session, principal: Principal, organisation: str, name: str, number: int
) -> DatasetVersion:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    return get_version(session, principal=principal, dataset=dataset, number=number)


@router.get("")
def list_(
    organisation: str, name: str, session: SessionDep, principal: CurrentPrincipal
) -> VersionsPublic:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    rows = list_versions(session, principal=principal, dataset=dataset)
    return VersionsPublic(data=[version_public(v) for v in rows], count=len(rows))


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    organisation: str,
    name: str,
    body: VersionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> VersionPublic:
    dataset = get_dataset(session, principal=principal, organisation=organisation, name=name)
    version = create_version(session, principal=principal, dataset=dataset, **body.model_dump())
    return version_public(version)


@router.get("/{number}")
def read(
    organisation: str, name: str, number: Number, session: SessionDep, principal: CurrentPrincipal
) -> VersionPublic:
    return version_public(_version(session, principal, organisation, name, number))


@router.patch("/{number}")
def update(
    organisation: str,
    name: str,
    number: Number,
    body: VersionUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> VersionPublic:
    version = update_version(
        session,
        principal=principal,
        version=_version(session, principal, organisation, name, number),
        **body.model_dump(exclude_unset=True),
    )
    return version_public(version)


@router.post("/{number}/publish")
def publish(
    organisation: str,
    name: str,
    number: Number,
    session: SessionDep,
    store: StoreDep,
    principal: CurrentPrincipal,
) -> VersionPublic:
    """Verify every file's object (size and sha256), then publish in one transaction."""
    version = publish_version(
        session,
        principal=principal,
        store=store,
        version=_version(session, principal, organisation, name, number),
    )
    return version_public(version)


@router.post("/{number}/withdraw")
def withdraw(
    organisation: str,
    name: str,
    number: Number,
    body: VersionWithdraw,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> VersionPublic:
    version = withdraw_version(
        session,
        principal=principal,
        reason=body.reason,
        version=_version(session, principal, organisation, name, number),
    )
    return version_public(version)


@router.get("/{number}/files")
def files(
    organisation: str, name: str, number: Number, session: SessionDep, principal: CurrentPrincipal
) -> list[FilePublic]:
    version = _version(session, principal, organisation, name, number)
    return [FilePublic.model_validate(f) for f in version.files]


@router.post("/{number}/files", status_code=status.HTTP_201_CREATED)
def register_file(
    organisation: str,
    name: str,
    number: Number,
    body: FileCreate,
    session: SessionDep,
    store: StoreDep,
    principal: CurrentPrincipal,
) -> FilePublic:
    """Record an object already uploaded under the version's prefix in the object store."""
    version = _version(session, principal, organisation, name, number)
    file = add_file(session, principal=principal, store=store, version=version, **body.model_dump())
    return FilePublic.model_validate(file)


@router.get("/{number}/files/{file_id}")
def read_file(
    organisation: str,
    name: str,
    number: Number,
    file_id: int,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> FilePublic:
    version = _version(session, principal, organisation, name, number)
    return FilePublic.model_validate(get_file(version, file_id))


@router.post("/{number}/upload-url")
def create_upload_url(
    organisation: str,
    name: str,
    number: Number,
    body: UploadUrlCreate,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> UploadUrlPublic:
    """A signed URL to PUT one object of a draft version; register it as a file after."""
    version = _version(session, principal, organisation, name, number)
    expires_in = min(body.expires_in, settings.signed_url_max_seconds)
    url = upload_url(
        principal=principal, store=store, version=version, key=body.key, expires_in=expires_in
    )
    return UploadUrlPublic(key=body.key, url=url, method="PUT", expires_in=expires_in)
