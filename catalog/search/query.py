"""search_datasets: one page of matching datasets, the count and the facets.

A search takes the current snapshot (:mod:`catalog.search.snapshot`, brought up to date from
the change log first), gets every match of ``q`` with its rank from the full-text index (or
from the snapshot's cache of matches), and does visibility, filters, count, facets and the
order of the page in arrays. Only the page's rows are read from the database. Two kinds of
search go to SQL instead (:mod:`catalog.search.sql`, the same semantics): ``sort="title"``
takes its page from SQL, because the order of titles is the database's collation; and a
session with uncommitted writes of its own searches entirely in SQL, because only it can
see them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from catalog.models import Dataset, Visibility
from catalog.principal import Principal
from catalog.search import request
from catalog.search.arrays import Ints
from catalog.search.facets import Mask, facet, filter_mask, scope_mask
from catalog.search.request import (
    FACET_NAMES,
    FacetCount,
    FilterValues,
    SearchResult,
    SortOrder,
    check_paging,
    normalise_filters,
    scope_of,
)
from catalog.search.snapshot import Match, Snapshot, SnapshotSource, Stats
from catalog.search.sql import sql_page, sql_search
from catalog.search.text import query_tokens

# One snapshot source per database URL (tests open many databases in one process).
_SOURCES: OrderedDict[str, SnapshotSource] = OrderedDict()
_SOURCES_LOCK = threading.Lock()
_MAX_SOURCES = 16
# False: every search in SQL, as before the snapshot (the benchmark's baseline).
USE_SNAPSHOT = True


def search_datasets(
    session: Session,
    *,
    principal: Principal,
    q: str | None = None,
    organisations: Sequence[str] = (),
    tags: Sequence[str] = (),
    themes: Sequence[str] = (),
    licences: Sequence[str] = (),
    formats: Sequence[str] = (),
    visibility: Sequence[Visibility] = (),
    personal_data: bool | None = None,
    quality: Sequence[str] = (),
    sort: SortOrder = "relevance",
    offset: int = 0,
    limit: int = 20,
    rows: bool = True,
) -> SearchResult:
    """One page of the datasets the principal may see that match ``q`` and the filters.

    Values within a filter are ORed, filters are ANDed. ``organisations`` are organisation
    names, ``licences`` SPDX ids (any case), ``formats`` file formats of a published version
    (stored lower-case; ``CSV`` finds ``csv``), ``tags`` and ``themes`` exact values.
    ``sort="relevance"`` orders by rank (title matches first), then most recently updated;
    without ``q`` it is the same as ``"updated"``. ``"title"`` is ascending, ``"updated"`` and
    ``"created"`` newest first; ties are broken by ``updated_at`` then ``id``, newest first.
    Facets count with drill-down semantics (see the package docstring).

    ``rows=False``: only the page's ids (``SearchResult.ids``), for callers that read the
    rows their own way (the API, :func:`catalog.search.cards.dataset_cards`).
    """
    check_paging(sort=sort, offset=offset, limit=limit)
    tokens = query_tokens(q)
    filters = normalise_filters(
        organisation=organisations, tag=tags, theme=themes, licence=licences, format=formats,
        visibility=visibility, personal_data=personal_data, quality=quality,
    )  # fmt: skip
    source = snapshot_source(session)
    source.stats.searches += 1
    snapshot = source.current(session) if USE_SNAPSHOT else None
    if snapshot is None:
        source.stats.sql_fallbacks += 1
        return sql_search(session, principal=principal, tokens=tokens, filters=filters,
                          sort=sort, offset=offset, limit=limit)  # fmt: skip

    base = scope_mask(snapshot, principal)
    match = None
    if tokens:
        match = snapshot.matches(session, tokens, source.stats)
        base = _matched_in_scope(snapshot, principal, base, match)
    masks = {
        name: filter_mask(snapshot, name, values, source.stats) for name, values in filters.items()
    }
    idx = np.flatnonzero(_all(base, masks.values()))
    facets: dict[str, list[FacetCount]] = {}
    for name in FACET_NAMES:
        if request.DRILL_DOWN and name in masks:
            others = [m for other, m in masks.items() if other != name]
            facets[name] = facet(snapshot, name, np.flatnonzero(_all(base, others)))
        else:
            facets[name] = facet(snapshot, name, idx)

    datasets: list[Dataset] = []
    ids: list[int] = []
    if limit and sort == "title":
        datasets = sql_page(session, principal=principal, tokens=tokens, filters=filters,
                            sort=sort, offset=offset, limit=limit)  # fmt: skip
        ids = [d.id for d in datasets]
    elif limit:
        rank = (
            snapshot.ranks_of(session, match, idx)
            if match is not None and sort == "relevance"
            else None
        )
        page = _order(snapshot, idx, sort=sort, rank=rank, first=offset + limit)[offset:]
        ids = snapshot.ids[page].tolist()
        datasets = _load_page(session, ids) if rows else []
    return SearchResult(
        datasets=datasets, count=len(idx), facets=facets, ids=ids, cards=snapshot.cards
    )


def snapshot_source(session: Session) -> SnapshotSource:
    """This process's snapshot source for the session's database."""
    key = session.get_bind().engine.url.render_as_string()
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = SnapshotSource()
            while len(_SOURCES) > _MAX_SOURCES:
                _SOURCES.popitem(last=False)
        _SOURCES.move_to_end(key)
        return source


def search_stats() -> dict[str, dict[str, int]]:
    """Cache counters per database (the benchmark reports them)."""
    with _SOURCES_LOCK:
        return {url: source.stats.as_dict() for url, source in _SOURCES.items()}


def _matched_in_scope(snapshot: Snapshot, principal: Principal, scope: Mask, match: Match) -> Mask:
    """The datasets in the viewer's ``scope`` that match, kept with the filter masks: the
    same few queries come back often, and building the mask costs as much as a facet."""
    key = ("matched", scope_of(principal), match.tokens)
    found: Mask | None = snapshot.recall(key)
    if found is None:
        found = np.zeros(snapshot.n, bool)
        found[match.pos] = True
        found &= scope
        found.setflags(write=False)  # shared between searches
        snapshot.remember(key, found)
    return found


def _all(base: Mask, masks: Iterable[Mask]) -> Mask:
    out = base.copy()
    for mask in masks:
        out &= mask
    return out


def _order(
    snapshot: Snapshot, idx: Ints, *, sort: str, rank: np.ndarray | None, first: int
) -> Ints:
    """The first ``first`` of ``idx`` in the page's order (rank, then the sort's columns,
    then ``updated_at`` and ``id``, newest first)."""
    keys: list[np.ndarray] = []  # the most significant first
    if rank is not None and sort == "relevance":
        keys.append(rank)
    if sort == "created":
        keys.append(-snapshot.created[idx])
    keys += [-snapshot.updated[idx], -snapshot.ids[idx]]
    if len(idx) > 4 * first:
        # Only what can reach the page needs a full sort: the rows whose first key is at or
        # below the first-th smallest (ties included).
        cut = np.partition(keys[0], first - 1)[first - 1]
        near = keys[0] <= cut
        idx, keys = idx[near], [k[near] for k in keys]
    order = np.lexsort(keys[::-1])
    result: Ints = idx[order[:first]]
    return result


def _load_page(session: Session, ids: list[int]) -> list[Dataset]:
    if not ids:
        return []
    rows = session.scalars(
        select(Dataset)
        .where(Dataset.id.in_(ids))
        .options(
            # Many-to-one: joined into the page query; collections: one query each.
            joinedload(Dataset.organisation, innerjoin=True),
            joinedload(Dataset.licence),
            selectinload(Dataset.tag_rows),
            selectinload(Dataset.theme_rows),
        )
    ).unique()
    by_id = {dataset.id: dataset for dataset in rows}
    return [by_id[i] for i in ids if i in by_id]


__all__ = ["FilterValues", "Stats", "search_datasets", "search_stats", "snapshot_source"]
