"""Writing the full-text index: one row per dataset, in the caller's transaction.

The index (``dataset_fts``, created by the initial migration) is written by
:func:`index_dataset` in the same transaction as the dataset change; deletes cascade. Every
index write also goes to the change log (:mod:`catalog.search.changes`), because a rank
depends on the whole index: processes drop the ranks they cached when they see it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, text, true
from sqlalchemy.orm import Session

from catalog.models import Dataset, DatasetTag, DatasetTheme, Organisation
from catalog.search.changes import log_change, new_epoch
from catalog.search.sql import is_sqlite
from catalog.search.text import document


def index_dataset(session: Session, dataset: Dataset) -> None:
    """Write (or replace) the dataset's row in the full-text index, in the caller's transaction.

    Tags, themes and the organisation are read back from the database after a flush, so the
    row is right however the caller changed the relationships.
    """
    session.flush()
    tags = session.scalars(select(DatasetTag.tag).where(DatasetTag.dataset_id == dataset.id))
    themes = session.scalars(
        select(DatasetTheme.theme).where(DatasetTheme.dataset_id == dataset.id)
    )
    org = session.execute(
        select(Organisation.title, Organisation.name).where(
            Organisation.id == dataset.organisation_id
        )
    ).one()
    row = {
        "id": dataset.id,
        "title": document(dataset.title),
        "description": document(dataset.description or ""),
        "tags": document(*tags, *themes),
        "organisation": document(org.title, org.name),
    }
    _write_rows(session, [row], replace=True)
    log_change(session, dataset.id)


def remove_dataset(session: Session, dataset_id: int) -> None:
    """Drop a dataset from the index (deleting the dataset does this by itself)."""
    if is_sqlite(session):
        session.execute(text("DELETE FROM dataset_fts WHERE rowid = :id"), {"id": dataset_id})
    else:
        session.execute(text("DELETE FROM dataset_fts WHERE dataset_id = :id"), {"id": dataset_id})
    log_change(session, dataset_id)


def rebuild_index(session: Session, *, batch_size: int = 2000) -> int:
    """Re-index every dataset (after a bulk load or a change to normalisation)."""
    session.flush()
    session.execute(text("DELETE FROM dataset_fts"))
    new_epoch(session)
    return _index_where(session, true(), replace=False, batch_size=batch_size)


def reindex_organisation(session: Session, organisation_id: int, *, batch_size: int = 2000) -> int:
    """Re-index one organisation's datasets: its title and name are in their documents.

    The organisation's own row change is in the change log (a trigger), so every process
    drops the ranks it cached.
    """
    session.flush()
    return _index_where(
        session, Dataset.organisation_id == organisation_id, replace=True, batch_size=batch_size
    )


def _index_where(
    session: Session, condition: ColumnElement[bool], *, replace: bool, batch_size: int
) -> int:
    total = 0
    last_id = 0
    while True:
        batch = session.execute(
            select(
                Dataset.id,
                Dataset.title,
                Dataset.description,
                Organisation.title,
                Organisation.name,
            )
            .join(Organisation, Organisation.id == Dataset.organisation_id)
            .where(condition, Dataset.id > last_id)
            .order_by(Dataset.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return total
        ids = [r[0] for r in batch]
        words: dict[int, list[str]] = {i: [] for i in ids}
        for dataset_id, word in session.execute(
            select(DatasetTag.dataset_id, DatasetTag.tag).where(DatasetTag.dataset_id.in_(ids))
        ):
            words[dataset_id].append(word)
        for dataset_id, word in session.execute(
            select(DatasetTheme.dataset_id, DatasetTheme.theme).where(
                DatasetTheme.dataset_id.in_(ids)
            )
        ):
            words[dataset_id].append(word)
        rows = [
            {
                "id": dataset_id,
                "title": document(title),
                "description": document(description or ""),
                "tags": document(*words[dataset_id]),
                "organisation": document(org_title, org_name),
            }
            for dataset_id, title, description, org_title, org_name in batch
        ]
        _write_rows(session, rows, replace=replace)
        total += len(rows)
        last_id = ids[-1]


def _write_rows(session: Session, rows: list[dict[str, Any]], *, replace: bool) -> None:
    if is_sqlite(session):
        if replace:
            session.execute(
                text("DELETE FROM dataset_fts WHERE rowid = :id"), [{"id": r["id"]} for r in rows]
            )
        session.execute(
            text(
                "INSERT INTO dataset_fts (rowid, title, description, tags, organisation) "
                "VALUES (:id, :title, :description, :tags, :organisation)"
            ),
            rows,
        )
        return
    # One statement per batch: the rows travel as arrays and are unnested server-side.
    columns = {key: [r[key] for r in rows] for key in ("id", "title", "tags", "organisation",
                                                        "description")}  # fmt: skip
    session.execute(
        text(
            "INSERT INTO dataset_fts (dataset_id, document) "
            "SELECT id, setweight(to_tsvector('simple', title), 'A') || "
            "setweight(to_tsvector('simple', tags), 'B') || "
            "setweight(to_tsvector('simple', organisation), 'C') || "
            "setweight(to_tsvector('simple', description), 'D') "
            "FROM unnest(CAST(:id AS integer[]), CAST(:title AS text[]), CAST(:tags AS text[]), "
            "CAST(:organisation AS text[]), CAST(:description AS text[])) "
            "AS r(id, title, tags, organisation, description) "
            "ON CONFLICT (dataset_id) DO UPDATE SET document = EXCLUDED.document"
        ),
        columns,
    )
