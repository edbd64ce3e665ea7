"""Writing a version's objects: each original upload and each normalised table, and the
catalog file records that go with them.

Every object is written with the sha256 of the bytes it holds recorded in the store, so
publishing checks it with a HEAD instead of reading it back (``publish_version``'s
``written``). A table is hashed here and checked by the store as it is sent; an original
is composed inside the store from the upload's staged chunks, each checked against the
sha256 recorded when it arrived (``ingest.originals``: while the job still normalises).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog.models import DatasetVersion
from catalog.principal import Principal
from catalog.storage.base import ObjectStore
from catalog.versions import add_file
from ingest.normalise import NormalisedTable, NormaliseResult
from ingest.originals import EarlyOriginals, StoredOriginal
from ingest.schema_changes import schema_to_json

PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


@dataclass(frozen=True)
class Normalised:
    """One upload of a job and what the readers made of it."""

    upload_id: str
    filename: str
    result: NormaliseResult


def write_objects(
    store: ObjectStore,
    prefix: str,
    normalised: list[Normalised],
    check: Callable[[], None],
    originals: EarlyOriginals,
) -> tuple[list[Register], list[tuple[str, Path]]]:
    """Write every object under ``prefix``; return how to register each as a catalog file,
    and each table's object key with its local Parquet file (for validation). The originals
    come from ``originals``, which composes them while normalising still runs.

    The sizes and digests are computed here, from what was written, and recorded with each
    object; publishing checks them against the store (``written_keys``)."""
    registrations: list[Register] = []
    table_keys: list[tuple[str, Path]] = []
    tables = [(n, t) for n in normalised for t in n.result.tables]
    names = object_names([t.name for _, t in tables])
    for item in normalised:
        check()
        stored = originals.result(item.upload_id, item.result.media_type)
        registrations.append(_register_original(store, item, stored))
    for (_, table), name in zip(tables, names, strict=True):
        check()
        registrations.append(_write_table(store, prefix, f"data/{name}.parquet", table))
        table_keys.append((f"data/{name}.parquet", table.parquet_path))
    for item in normalised:
        if item.result.manifest is not None:
            stem = Path(item.filename).name.replace("/", "-")
            registrations.append(
                _write_table(store, prefix, f"data/{stem}.manifest.parquet", item.result.manifest)
            )
    return registrations, table_keys


@dataclass(frozen=True)
class Register:
    """Records one written object as a file of the version (in the caller's transaction)."""

    key: str  # under the version's prefix
    fields: dict[str, Any]
    store: ObjectStore

    def __call__(self, session: Session, principal: Principal, version: DatasetVersion) -> None:
        add_file(
            session,
            principal=principal,
            store=self.store,
            version=version,
            key=self.key,
            **self.fields,
        )


def written_keys(registrations: list[Register]) -> frozenset[str]:
    """The keys of the objects this job wrote, with their sha256 recorded in the store: what
    ``publish_version`` may check with a HEAD."""
    return frozenset(r.key for r in registrations)


def _register_original(store: ObjectStore, item: Normalised, stored: StoredOriginal) -> Register:
    result = item.result
    fmt = (
        result.tables[0].source_format
        if result.tables
        else Path(item.filename).suffix.lstrip(".").lower() or "bin"
    )
    return _registration(
        store,
        stored.key,
        role="original",
        format=fmt,
        media_type=result.media_type,
        written=(stored.size, stored.sha256),
    )


def _write_table(store: ObjectStore, prefix: str, key: str, table: NormalisedTable) -> Register:
    size, sha256 = file_digest(table.parquet_path)
    with table.parquet_path.open("rb") as handle:
        # The store hashes what it sends and refuses the object if it differs from sha256.
        store.put(prefix + key, handle, length=size, content_type=PARQUET_MEDIA_TYPE, sha256=sha256)
    return _registration(
        store,
        key,
        role="data",
        format="parquet",
        media_type=PARQUET_MEDIA_TYPE,
        written=(size, sha256),
        row_count=table.row_count,
        arrow_schema=schema_json(table),
        column_stats=table.statistics,
    )


def _registration(store: ObjectStore, key: str, **fields: Any) -> Register:
    return Register(key=key, fields=fields, store=store)


def schema_json(table: NormalisedTable) -> dict[str, Any]:
    """What the catalog records of a table's schema: Arrow fields, published names, aliases."""
    return {
        "table": table.name,
        "fields": schema_to_json(table.arrow_schema),
        # The exact Arrow schema, to check a publisher's suite against it later.
        "ipc": base64.b64encode(table.arrow_schema.serialize().to_pybytes()).decode("ascii"),
        "columns": [
            {"name": c.name, "alias": c.alias, "type": c.arrow_type} for c in table.columns
        ],
    }


def object_names(names: list[str]) -> list[str]:
    """Safe, unique object names for tables ('part-0' for a version's only table)."""
    if len(names) == 1:
        return ["part-0"]
    out: list[str] = []
    for i, name in enumerate(names):
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
        out.append(f"{i:03d}-{safe[:80] or 'table'}")
    return out


def file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
