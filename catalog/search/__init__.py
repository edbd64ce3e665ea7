"""Full-text search over datasets, with filters, facets and paging, on SQLite and PostgreSQL.

The index (``dataset_fts``, created by the initial migration) is written by
:func:`index_dataset` in the same transaction as the dataset change; deletes cascade.

Text handling is the same on both engines because we normalise it in Python before it reaches
either: lower-case, Unicode NFKD with combining marks removed (``Borås`` -> ``boras``,
``ﬁ`` -> ``fi``), then split into runs of letters and digits (``[^\\W_]+``; hyphens,
underscores, dots and every other symbol separate words). Documents are stored as that token
stream and queries are built from the same tokens, so SQLite FTS5 (``unicode61
remove_diacritics 2``) and PostgreSQL (``'simple'`` configuration, no ``unaccent``) see
identical words. Letters without a decomposition (``ø``, ``æ``, ``ß``, ``ł``) are kept as they
are on both engines, so ``søren`` does not find ``soren``. Nothing is stemmed and there are no
stop words (the content is Swedish and English).

A query ``q`` is never handed to the engine's query syntax: its tokens (at most
:data:`MAX_QUERY_TOKENS`, from the first :data:`MAX_QUERY_CHARS` characters) are ANDed and the
last one is a prefix (type-ahead: ``luftt`` finds ``Lufttemperatur``). Operators and
punctuation in the input (``"``, ``*``, ``OR``, ``NEAR(``, ``title:``, ``--``) are just
separators or ordinary words. A ``q`` without any letters or digits (``""``, ``"(("``, ``"*"``)
adds no full-text condition: it matches everything the other filters allow.

Facets use drill-down semantics: each facet counts the datasets matching ``q``, the caller's
visibility and every active filter except its own, so a UI can offer the other values of a
filter already in use (:data:`catalog.search.request.DRILL_DOWN` switches to counting under
all active filters).
The top :data:`FACET_SIZE` values per facet are returned, by count descending then value.

A search is answered from an in-process snapshot of the catalogue's filterable attributes
plus every match of ``q`` with its rank from the full-text index (:mod:`.query`,
:mod:`.snapshot`, :mod:`.facets`); the snapshot follows writes through a change log that
triggers keep in the database (:mod:`.changes`), so a write is visible to the next search in
every process. :mod:`.sql` does the same in SQL: the reference the tests hold the snapshot
to, and the path for ``sort="title"`` pages and for sessions with uncommitted writes.
Writing the index: :mod:`.index`; text handling: :mod:`.text`.
"""

from __future__ import annotations

from catalog.search.index import index_dataset, rebuild_index, reindex_organisation, remove_dataset
from catalog.search.query import search_datasets, search_stats
from catalog.search.request import (
    FACET_NAMES,
    FACET_SIZE,
    MAX_LIMIT,
    SORT_ORDERS,
    FacetCount,
    SearchResult,
    SortOrder,
)
from catalog.search.text import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TOKENS,
    MAX_TOKEN_CHARS,
    fts5_query,
    normalise,
    query_tokens,
    tokenize,
    tsquery,
)

__all__ = [
    "FACET_NAMES",
    "FACET_SIZE",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TOKENS",
    "MAX_TOKEN_CHARS",
    "SORT_ORDERS",
    "FacetCount",
    "SearchResult",
    "SortOrder",
    "fts5_query",
    "index_dataset",
    "normalise",
    "query_tokens",
    "rebuild_index",
    "reindex_organisation",
    "remove_dataset",
    "search_datasets",
    "search_stats",
    "tokenize",
    "tsquery",
]
