"""The demo catalog: what it creates, that its files are real and intact, who sees what, and
that loading it again (or resetting it) behaves."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetVersion,
    Membership,
    Organisation,
    Role,
    User,
    VersionState,
    Visibility,
)
from catalog.storage.base import ObjectStore
from catalog.themes import THEMES
from catalog.versions import version_prefix
from datahamn import demo
from datahamn.demo import DATASETS, ORGANISATIONS, load_demo, reset_demo
from tests.factories import auth, make_org, make_token

PUBLIC = {d.ref for d in DATASETS if d.visibility is Visibility.public}


@pytest.fixture
def session_factory(app: FastAPI) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.state.session_factory
    return factory


@pytest.fixture
def store(app: FastAPI) -> ObjectStore:
    result: ObjectStore = app.state.store
    return result


def _count(session: Session, column: object, *where: object) -> int:
    return session.scalar(select(func.count(column)).where(*where)) or 0  # type: ignore[arg-type]


def test_load_demo_creates_the_catalog_with_intact_parquet_files(
    session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    summary = load_demo(session_factory, store)

    with session_factory() as session:
        assert _count(session, Organisation.id) == len(ORGANISATIONS) == 3
        assert _count(session, Dataset.id) == len(DATASETS) == 6
        published = _count(
            session, DatasetVersion.id, DatasetVersion.state == VersionState.published
        )
        assert published == summary.published_versions == 8
        assert _count(session, DatasetVersion.id) == published  # no drafts left behind
        admins = session.execute(
            select(User.username, Organisation.name, Membership.role, User.is_sysadmin)
            .join(Membership, Membership.user_id == User.id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
        ).all()
        assert sorted(admins) == sorted((o.admin, o.name, Role.admin, False) for o in ORGANISATIONS)

        files = session.scalars(select(DatasetFile)).all()
        assert len(files) == published
        for file in files:
            version = file.version
            key = version_prefix(version.dataset, version.number) + file.key
            data = b"".join(store.get(key))
            assert file.key == "data/part-0.parquet"
            assert (len(data), hashlib.sha256(data).hexdigest()) == (file.size, file.sha256)
            assert file.format == "parquet"
            assert file.media_type == "application/vnd.apache.parquet"
            parquet = pq.ParquetFile(io.BytesIO(data))
            assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
            table = parquet.read()
            assert file.row_count is not None and table.num_rows == file.row_count > 0
            schema: dict[str, Any] = file.arrow_schema or {}
            stats: dict[str, Any] = file.column_stats or {}
            assert [f["name"] for f in schema["fields"]] == table.column_names
            assert set(stats) == set(table.column_names)
            for name in table.column_names:
                assert stats[name]["nulls"] == table[name].null_count
    assert sorted(summary.objects_written) == sorted(
        f"datasets/{d.ref}/v{n}/data/part-0.parquet"
        for d in DATASETS
        for n in range(1, len(d.versions) + 1)
    )
    _check_metadata(session_factory)


def _check_metadata(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        datasets = session.scalars(select(Dataset)).all()
        assert {d.visibility for d in datasets} == set(Visibility)
        for dataset in datasets:
            assert "project's licence" in dataset.description
            assert dataset.tags and dataset.themes
            assert set(dataset.themes) <= set(THEMES)
            assert dataset.licence_id or dataset.agreement_id
            assert dataset.source and dataset.temporal_start and dataset.spatial_coverage
        stats: dict[str, Any] = (
            session.scalars(
                select(DatasetFile)
                .join(DatasetVersion)
                .join(Dataset)
                .where(Dataset.name == "lufttemperatur-timvarden", DatasetVersion.number == 1)
            )
            .one()
            .column_stats
            or {}
        )
    # January 2024 at four stations, with a few gaps: the stats describe exactly that.
    assert stats["time"]["min"] == "2024-01-01T00:00:00+00:00"
    assert stats["time"]["max"] == "2024-01-31T23:00:00+00:00"
    assert stats["station"]["min"] == "Norrvik centrum"
    assert stats["air_temperature_c"]["nulls"] > 0
    assert -40 < stats["air_temperature_c"]["min"] < stats["air_temperature_c"]["max"] < 15


def test_anonymous_callers_see_only_the_public_demo_datasets(
    session_factory: sessionmaker[Session], store: ObjectStore, client: TestClient
) -> None:
    load_demo(session_factory, store)

    body = client.get("/api/v1/datasets", params={"page_size": 100}).json()
    seen = {f"{d['organisation']['name']}/{d['name']}" for d in body["data"]}
    assert seen == PUBLIC and body["count"] == len(PUBLIC) == 3
    hidden = next(d for d in DATASETS if d.visibility is Visibility.private)
    assert client.get(f"/api/v1/datasets/{hidden.ref}").status_code == 404

    # The lab's admin sees all partner-visible metadata plus the lab's own private draft.
    with session_factory() as session:
        admin = session.scalars(select(User).where(User.username == "demo-cecilia")).one()
        token = make_token(session, admin)
    body = client.get("/api/v1/datasets", params={"page_size": 100}, headers=auth(token)).json()
    assert body["count"] == 6
    versions = client.get(f"/api/v1/datasets/{hidden.ref}/versions", headers=auth(token)).json()
    assert [v["state"] for v in versions["data"]] == ["published"]


def test_generated_data_is_deterministic() -> None:
    for spec in DATASETS:
        for version in spec.versions:
            first = demo.parquet_bytes(version.build())
            assert demo.parquet_bytes(version.build()) == first, spec.ref
    # A second version extends the first: its rows start with all of version one's.
    v1, v2 = (v.build() for v in DATASETS[0].versions)
    assert v2.slice(0, 31 * 24).equals(v1.slice(0, 31 * 24))


def test_loading_twice_changes_nothing_and_reset_removes_only_the_demo(
    session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    with session_factory() as session:
        make_org(session, "real-partner")
    first = load_demo(session_factory, store)
    objects = {info.key: info.etag for info in store.list("datasets/")}

    second = load_demo(session_factory, store)

    assert second.created == [] and second.objects_written == []
    assert len(second.existing) == len(first.created) - 1  # the agreement is not listed again
    with session_factory() as session:
        assert _count(session, Organisation.id) == 4
        assert _count(session, Dataset.id) == 6
        assert _count(session, DatasetVersion.id) == 8
        assert _count(session, User.id) == 3
    assert {info.key: info.etag for info in store.list("datasets/")} == objects

    removed = reset_demo(session_factory, store)

    assert "organisation norrvik-vader" in removed and "user demo-astrid" in removed
    with session_factory() as session:
        assert session.scalars(select(Organisation.name)).all() == ["real-partner"]
        assert _count(session, Dataset.id) == 0
        assert _count(session, User.id) == 0
    assert list(store.list("datasets/")) == []
    # ... and the demo loads again from scratch.
    assert len(load_demo(session_factory, store).objects_written) == 8
