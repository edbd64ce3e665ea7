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
filter already in use (:data:`DRILL_DOWN` switches to counting under all active filters).
The top :data:`FACET_SIZE` values per facet are returned, by count descending then value.

A search is two statements (plus one each for the page's tags and themes): the page, ranked
by ``bm25`` (SQLite; title 10, tags 5, organisation 2, description 1) or ``ts_rank_cd``
(PostgreSQL, the same ratios as A/B/C/D weights); and one that materialises each candidate
set it needs as a CTE (every filter; every filter but one, for that filter's facet) and
returns the count and all facets as a ``UNION ALL`` of aggregates over them. Facets are
aggregates over every candidate, so their cost grows with the number of matches; results
over large candidate sets are cached briefly (:class:`FacetCache`).
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session, joinedload, selectinload
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Join

from catalog.errors import InvalidInput
from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Licence,
    Organisation,
    VersionState,
    Visibility,
)
from catalog.principal import Principal, visible_datasets

SortOrder = Literal["relevance", "title", "updated", "created"]
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)
FACET_NAMES = (
    "organisation", "tag", "theme", "licence", "format", "visibility", "personal_data", "quality",
)  # fmt: skip
FACET_SIZE = 20
MAX_QUERY_CHARS = 1000
MAX_QUERY_TOKENS = 32
MAX_TOKEN_CHARS = 100  # well below PostgreSQL's 2047-byte limit on a lexeme
MAX_LIMIT = 1000
# Drill-down facets: each facet ignores its own filter (one extra candidate set per active
# filter). False counts every facet under all active filters: cheaper (about 40% less
# database time for a query with two filters over 100,000 datasets), less useful in a UI.
DRILL_DOWN = True

# bm25 weights per FTS5 column (title, description, tags, organisation): title counts most.
_BM25_WEIGHTS = (10.0, 1.0, 5.0, 2.0)
# The same ratios for ts_rank_cd, whose weight array is ordered {D, C, B, A}:
# A = title 1.0, B = tags 0.5, C = organisation 0.2, D = description 0.1.
_PG_RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"

_WORD = re.compile(r"[^\W_]+")

_sqlite_fts = table("dataset_fts", column("rowid", Integer))
_pg_fts = table("dataset_fts", column("dataset_id", Integer), column("document"))


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    datasets: list[Dataset]
    count: int
    facets: dict[str, list[FacetCount]]


# --- text normalisation ---------------------------------------------------------------------


def normalise(text_: str) -> str:
    """Lower-case and strip diacritics (``Borås`` -> ``boras``); see the module docstring."""
    decomposed = unicodedata.normalize("NFKD", text_.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text_: str) -> list[str]:
    """The words of a text as both engines index them."""
    return _WORD.findall(normalise(text_))


def _document(*parts: str) -> str:
    return " ".join(tok for part in parts for tok in tokenize(part))


def query_tokens(q: str | None) -> list[str]:
    """The tokens of a user's query, capped; empty when it has no letters or digits."""
    if not q:
        return []
    return [tok[:MAX_TOKEN_CHARS] for tok in tokenize(q[:MAX_QUERY_CHARS])[:MAX_QUERY_TOKENS]]


def fts5_query(tokens: Sequence[str]) -> str:
    """``"a" "b"*``: every token an FTS5 string (implicit AND), the last one a prefix."""
    quoted = ['"' + tok.replace('"', '""') + '"' for tok in tokens]
    return " ".join(quoted) + "*"


def tsquery(tokens: Sequence[str]) -> str:
    """``'a' & 'b':*`` for ``to_tsquery``: the same semantics as :func:`fts5_query`."""
    quoted = ["'" + tok.replace("\\", "\\\\").replace("'", "''") + "'" for tok in tokens]
    quoted[-1] += ":*"
    return " & ".join(quoted)


# --- indexing -------------------------------------------------------------------------------


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
        "title": _document(dataset.title),
        "description": _document(dataset.description or ""),
        "tags": _document(*tags, *themes),
        "organisation": _document(org.title, org.name),
    }
    _write_rows(session, [row], replace=True)
    FACET_CACHE.clear()


def remove_dataset(session: Session, dataset_id: int) -> None:
    """Drop a dataset from the index (deleting the dataset does this by itself)."""
    if _is_sqlite(session):
        session.execute(text("DELETE FROM dataset_fts WHERE rowid = :id"), {"id": dataset_id})
    else:
        session.execute(text("DELETE FROM dataset_fts WHERE dataset_id = :id"), {"id": dataset_id})
    FACET_CACHE.clear()


def rebuild_index(session: Session, *, batch_size: int = 2000) -> int:
    """Re-index every dataset (after a bulk load or a change to normalisation)."""
    session.flush()
    session.execute(text("DELETE FROM dataset_fts"))
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
            .where(Dataset.id > last_id)
            .order_by(Dataset.id)
            .limit(batch_size)
        ).all()
        if not batch:
            FACET_CACHE.clear()
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
                "title": _document(title),
                "description": _document(description or ""),
                "tags": _document(*words[dataset_id]),
                "organisation": _document(org_title, org_name),
            }
            for dataset_id, title, description, org_title, org_name in batch
        ]
        _write_rows(session, rows, replace=False)
        total += len(rows)
        last_id = ids[-1]


def _write_rows(session: Session, rows: list[dict[str, Any]], *, replace: bool) -> None:
    if _is_sqlite(session):
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


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# --- searching ------------------------------------------------------------------------------


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
) -> SearchResult:
    """One page of the datasets the principal may see that match ``q`` and the filters.

    Values within a filter are ORed, filters are ANDed. ``organisations`` are organisation
    names, ``licences`` SPDX ids (any case), ``formats`` file formats of a published version
    (stored lower-case; ``CSV`` finds ``csv``), ``tags`` and ``themes`` exact values.
    ``sort="relevance"`` orders by rank (title matches first), then most recently updated;
    without ``q`` it is the same as ``"updated"``. ``"title"`` is ascending, ``"updated"`` and
    ``"created"`` newest first; ties are broken by ``updated_at`` then ``id``, newest first.

    Runs two statements plus two for the page's tags and themes: the page, and one for the
    count and every facet (see the module docstring). Counts over large candidate sets are
    cached briefly, see :class:`FacetCache`.
    """
    if sort not in SORT_ORDERS:
        raise InvalidInput(f"sort must be one of {', '.join(SORT_ORDERS)}", field="sort")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    if not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 0 and {MAX_LIMIT}", field="limit")

    search = _Search(
        sqlite=_is_sqlite(session),
        tokens=query_tokens(q),
        principal=principal,
        filters=_normalise_filters(
            organisation=organisations, tag=tags, theme=themes, licence=licences,
            format=formats, visibility=visibility, personal_data=personal_data,
            quality=quality,
        ),
    )  # fmt: skip
    datasets = search.page(session, sort=sort, offset=offset, limit=limit) if limit else []
    count, facets = search.stats(session)
    return SearchResult(datasets=datasets, count=count, facets=facets)


FilterValues = tuple[str, ...]


def _normalise_filters(**given: Any) -> dict[str, FilterValues]:
    """The active filters: facet name -> sorted distinct values (the cache key too).

    A value with NUL cannot be stored (PostgreSQL refuses it even as a parameter), so it
    matches nothing; a filter whose every value is unusable is kept with no values and
    matches nothing.
    """
    filters: dict[str, FilterValues] = {}
    for name, values in given.items():
        if name == "personal_data":
            if values is not None:
                filters[name] = ("true" if values else "false",)
            continue
        if not values:
            continue
        cleaned = {str(v) for v in values if "\x00" not in str(v)}
        if name in ("licence", "format"):
            cleaned = {v.lower() for v in cleaned}
        elif name == "visibility":
            cleaned &= set(Visibility._value2member_map_)
        filters[name] = tuple(sorted(cleaned))
    return filters


def _condition(name: str, *, empty: bool, correlated: bool) -> ColumnElement[bool]:
    """The condition on Dataset for one filter; its values are the parameter ``v_<name>``.

    ``correlated``: EXISTS probes per candidate row (cheap when ``q`` leaves few candidates)
    instead of ``id IN (…)``, which builds the filter's whole id set once (cheap per row).
    """
    if empty:
        return false()
    values: BindParameter[Any] = bindparam(f"v_{name}", expanding=True)
    if name == "organisation":
        ids = select(Organisation.id).where(Organisation.name.in_(values))
        return Dataset.organisation_id.in_(ids)
    if name == "licence":
        # SPDX ids are case-insensitive; resolve against the small licences table so the
        # index on datasets.licence_id stays usable.
        return Dataset.licence_id.in_(select(Licence.id).where(func.lower(Licence.id).in_(values)))
    if name == "visibility":
        return Dataset.visibility.in_(values)
    if name == "personal_data":
        return Dataset.contains_personal_data == bindparam("v_personal_data", type_=Boolean)
    if name == "quality":
        return Dataset.quality_status.in_(values)
    if name in ("tag", "theme"):
        table_ = DatasetTag if name == "tag" else DatasetTheme
        column_ = DatasetTag.tag if name == "tag" else DatasetTheme.theme
        if correlated:
            return exists().where(table_.dataset_id == Dataset.id, column_.in_(values))
        return Dataset.id.in_(select(table_.dataset_id).where(column_.in_(values)))
    if name == "format":
        published = (
            select(DatasetVersion.dataset_id)
            .join(DatasetFile, DatasetFile.version_id == DatasetVersion.id)
            .where(DatasetVersion.state == VersionState.published)
            .where(DatasetFile.format.in_(values))
        )
        if correlated:
            return exists(published.where(DatasetVersion.dataset_id == Dataset.id))
        return Dataset.id.in_(published)
    raise ValueError(name)


# Built statements, by shape: which filters are active, whether there is a q, the viewer's
# scope (its visibility clause is part of the statement) and what is asked for. Values are
# bind parameters, so a statement is built (and compiled) once per shape and reused.
_PAGE_STATEMENTS: dict[tuple[Any, ...], Select[Dataset]] = {}
_STATS_STATEMENTS: dict[tuple[Any, ...], CompoundSelect[Any]] = {}
_MAX_STATEMENTS = 512


@dataclass(frozen=True)
class _Search:
    sqlite: bool
    tokens: list[str]
    principal: Principal
    filters: dict[str, FilterValues]

    def _shape(self) -> tuple[Any, ...]:
        return (
            self.sqlite,
            bool(self.tokens),
            _scope(self.principal),
            tuple(sorted((name, not values) for name, values in self.filters.items())),
        )

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.tokens:
            params["fts"] = fts5_query(self.tokens) if self.sqlite else tsquery(self.tokens)
        for name, values in self.filters.items():
            if not values:
                continue
            if name == "personal_data":
                params["v_personal_data"] = values == ("true",)
            elif name == "visibility":
                params["v_visibility"] = [Visibility(v) for v in values]
            else:
                params[f"v_{name}"] = list(values)
        return params

    def _where(self, *, skip: str | None = None) -> list[ColumnElement[bool]]:
        correlated = bool(self.tokens)
        return [visible_datasets(self.principal)] + [
            _condition(name, empty=not values, correlated=correlated)
            for name, values in self.filters.items()
            if name != skip
        ]

    def page(self, session: Session, *, sort: str, offset: int, limit: int) -> list[Dataset]:
        key = (*self._shape(), sort)
        stmt = _PAGE_STATEMENTS.get(key)
        if stmt is None:
            stmt = _PAGE_STATEMENTS[key] = self._page_statement(sort)
            _trim(_PAGE_STATEMENTS)
        params = self._params() | {"page_offset": offset, "page_limit": limit}
        return list(session.scalars(stmt, params).unique())

    def _page_statement(self, sort: str) -> Select[Dataset]:
        stmt = select(Dataset)
        order: list[ColumnElement[Any]] = []
        if self.tokens and sort == "relevance":
            ranked = _ranked(sqlite=self.sqlite)
            stmt = stmt.join(ranked, ranked.c.id == Dataset.id)
            order.append(ranked.c.rank.asc() if self.sqlite else ranked.c.rank.desc())
        elif self.tokens:
            matches = _matches(sqlite=self.sqlite)
            stmt = stmt.join(matches, matches.c.id == Dataset.id)
        if sort == "title":
            order.append(Dataset.title.asc())
        elif sort == "created":
            order.append(Dataset.created_at.desc())
        order += [Dataset.updated_at.desc(), Dataset.id.desc()]
        return (
            stmt.where(*self._where())
            .order_by(*order)
            .offset(bindparam("page_offset", type_=Integer))
            .limit(bindparam("page_limit", type_=Integer))
            .options(
                # Many-to-one: joined into the page query; collections: one query each.
                joinedload(Dataset.organisation, innerjoin=True),
                joinedload(Dataset.licence),
                selectinload(Dataset.tag_rows),
                selectinload(Dataset.theme_rows),
            )
        )

    def stats(self, session: Session) -> tuple[int, dict[str, list[FacetCount]]]:
        """The count and the facets, from the cache or from one statement."""
        scope = (
            session.get_bind().engine.url.render_as_string(),
            _scope(self.principal),
            tuple(self.tokens),
        )
        # The candidate set each result is counted over: None = q, visibility and every
        # filter; a filter's name = the same without that filter (drill-down facets).
        base_of: dict[str, str | None] = {"~count": None}
        base_of.update(
            {name: name if DRILL_DOWN and name in self.filters else None for name in FACET_NAMES}
        )
        keys = {
            item: (*scope, item, tuple(sorted((n, v) for n, v in self.filters.items()
                                              if n != base)))
            for item, base in base_of.items()
        }  # fmt: skip
        found = {item: FACET_CACHE.get(key) for item, key in keys.items()}
        missing = {item: base_of[item] for item, value in found.items() if value is None}
        if missing:
            computed, sizes = self._compute(session, missing)
            for item, base in missing.items():
                if sizes[base] >= FACET_CACHE.min_candidates:
                    FACET_CACHE.put(keys[item], computed[item])
            found.update(computed)
        count_rows = found["~count"] or ()
        count = count_rows[0].count if count_rows else 0
        return count, {name: list(found[name] or ()) for name in FACET_NAMES}

    def _compute(
        self, session: Session, wanted: dict[str, str | None]
    ) -> tuple[dict[str, tuple[FacetCount, ...]], dict[str | None, int]]:
        key = (*self._shape(), tuple(sorted(wanted.items(), key=str)))
        stmt = _STATS_STATEMENTS.get(key)
        if stmt is None:
            stmt = _STATS_STATEMENTS[key] = self._stats_statement(wanted)
            _trim(_STATS_STATEMENTS)
        results: dict[str, list[FacetCount]] = {item: [] for item in wanted}
        sizes: dict[str | None, int] = {}
        for item, value, count in session.execute(stmt, self._params()):
            if item == "~size":
                sizes[value or None] = count
            else:
                results[item].append(FacetCount(value=value, count=count))
        if "~count" in wanted:
            results["~count"] = [FacetCount(value="", count=sizes[None])]
        return {item: tuple(values) for item, values in results.items()}, sizes

    def _stats_statement(self, wanted: dict[str, str | None]) -> CompoundSelect[Any]:
        """One statement: each candidate set that is needed (every filter; every filter but
        one, for that filter's facet) is a materialised CTE, and the count and the facets are
        aggregates over them.

        Without ``q`` each set is queried on its own, so the planner can start from the most
        selective filter. With ``q`` the matches are materialised once, with a flag per
        filter, and the sets are taken from them: the full-text match and the dataset rows
        are read once, and each filter is tested once per match.
        """
        columns = (
            Dataset.id,
            Dataset.organisation_id,
            Dataset.licence_id,
            Dataset.visibility,
            Dataset.contains_personal_data,
            Dataset.quality_status,
        )
        bases: dict[str | None, CTE] = {}
        if self.tokens:
            flags = [
                _condition(name, empty=not values, correlated=True).label(f"f_{name}")
                for name, values in self.filters.items()
            ]
            matches = _matches(sqlite=self.sqlite)
            matched = (
                select(*columns, *flags)
                .join(matches, matches.c.id == Dataset.id)
                .where(visible_datasets(self.principal))
                .cte("matched")
                .prefix_with("MATERIALIZED")
            )
            for base in dict.fromkeys(wanted.values()):
                conditions = [matched.c[f"f_{n}"] for n in self.filters if n != base]
                derived = select(*(matched.c[c.key] for c in columns)).where(*conditions)
                bases[base] = derived.cte(f"candidates_{base or 'all'}").prefix_with("MATERIALIZED")
        else:
            for base in dict.fromkeys(wanted.values()):
                stmt = select(*columns).where(*self._where(skip=base))
                bases[base] = stmt.cte(f"candidates_{base or 'all'}").prefix_with("MATERIALIZED")
        parts: list[Select[Any, Any, Any]] = [
            select(literal("~size"), literal(base or ""), func.count()).select_from(cte)
            for base, cte in bases.items()
        ]
        for item, base in wanted.items():
            if item != "~count":
                parts.append(_facet(item, bases[base]))
        return union_all(*parts)


def _trim(statements: dict[tuple[Any, ...], Any]) -> None:
    if len(statements) > _MAX_STATEMENTS:
        statements.clear()


class _CandidatesFirst(Join):
    """An inner join whose left side drives: ``CROSS JOIN … ON`` on SQLite, a join elsewhere.

    SQLite cannot estimate a materialised candidate set and would rather walk a whole tag
    (or file format) index in value order, to skip a sort, probing the candidates for every
    row. A CROSS JOIN is SQLite's documented way to keep the left table in the outer loop.
    """

    inherit_cache = True


@compiles(_CandidatesFirst, "sqlite")
def _compile_candidates_first(join: _CandidatesFirst, compiler: Any, **kw: Any) -> str:
    kw.pop("asfrom", None)
    assert join.onclause is not None
    return (
        join.left._compiler_dispatch(compiler, asfrom=True, **kw)
        + " CROSS JOIN "
        + join.right._compiler_dispatch(compiler, asfrom=True, **kw)
        + " ON "
        + join.onclause._compiler_dispatch(compiler, **kw)
    )


def _facet(name: str, base: CTE) -> Select[Any, Any, Any]:
    """``(name, value, count)`` rows: a facet's top values over a candidate set."""
    n = func.count().label("n")
    value: ColumnElement[Any] | QueryableAttribute[Any]
    if name == "organisation":
        per_org = select(base.c.organisation_id, n).group_by(base.c.organisation_id).subquery()
        top = (
            select(Organisation.name.label("value"), per_org.c.n)
            .join_from(per_org, Organisation, Organisation.id == per_org.c.organisation_id)
            .order_by(per_org.c.n.desc(), Organisation.name.asc())
            .limit(FACET_SIZE)
            .subquery()
        )
        return select(literal(name), top.c.value, top.c.n)
    if name in ("tag", "theme"):
        table_ = DatasetTag if name == "tag" else DatasetTheme
        value = DatasetTag.tag if name == "tag" else DatasetTheme.theme
        joined = _CandidatesFirst(base, table_, table_.dataset_id == base.c.id)
        stmt = select(value.label("value"), n).select_from(joined)
    elif name == "licence":
        value = base.c.licence_id
        stmt = select(value.label("value"), n).where(value.is_not(None))
    elif name == "format":
        value = DatasetFile.format
        n = func.count(base.c.id.distinct()).label("n")
        published = and_(
            DatasetVersion.dataset_id == base.c.id,
            DatasetVersion.state == VersionState.published,
        )
        versions = _CandidatesFirst(base, DatasetVersion, published)
        files = _CandidatesFirst(versions, DatasetFile, DatasetFile.version_id == DatasetVersion.id)
        stmt = select(value.label("value"), n).select_from(files)
    elif name == "visibility":
        value = cast(base.c.visibility, String)
        stmt = select(value.label("value"), n)
    elif name == "personal_data":
        value = case((base.c.contains_personal_data, "true"), else_="false")
        stmt = select(value.label("value"), n)
    elif name == "quality":
        value = base.c.quality_status
        stmt = select(value.label("value"), n).where(value.is_not(None))
    else:
        raise ValueError(name)
    top = stmt.group_by(value).order_by(n.desc(), value.asc()).limit(FACET_SIZE).subquery()
    return select(literal(name), top.c.value, top.c.n)


def _scope(principal: Principal) -> tuple[Any, ...]:
    """What decides the caller's view (see visible_datasets): part of every cache key."""
    if principal.is_sysadmin:
        return ("all",)
    if not principal.is_partner:
        return ("public",)
    return ("partner", *sorted(principal.roles))


def _fts_match(sqlite: bool) -> ColumnElement[bool]:
    """The full-text condition; the query is the parameter ``fts`` (see :func:`fts5_query`
    and :func:`tsquery`)."""
    query = bindparam("fts", type_=String)
    if sqlite:
        return literal_column("dataset_fts").op("MATCH")(query)
    return _pg_fts.c.document.op("@@")(func.to_tsquery(literal_column("'simple'"), query))


def _matches(*, sqlite: bool) -> Subquery:
    """The ids (``id``) of the datasets whose index row matches."""
    id_ = _sqlite_fts.c.rowid if sqlite else _pg_fts.c.dataset_id
    return select(id_.label("id")).where(_fts_match(sqlite)).subquery("matches")


def _ranked(*, sqlite: bool) -> Subquery:
    """ids and ranks of the matching datasets (SQLite: lower is better; PostgreSQL: higher)."""
    if sqlite:
        rank: ColumnElement[Any] = func.bm25(literal_column("dataset_fts"), *_BM25_WEIGHTS)
        id_ = _sqlite_fts.c.rowid
    else:
        query = func.to_tsquery(literal_column("'simple'"), bindparam("fts", type_=String))
        weights: ColumnElement[Any] = literal_column(f"'{_PG_RANK_WEIGHTS}'::float4[]")
        rank = func.ts_rank_cd(weights, _pg_fts.c.document, query)
        id_ = _pg_fts.c.dataset_id
    return select(id_.label("id"), rank.label("rank")).where(_fts_match(sqlite)).subquery("ranked")


# --- the facet cache ------------------------------------------------------------------------


class FacetCache:
    """Counts and facets over large candidate sets, kept for a few seconds.

    Facets are aggregates over every candidate, so their cost grows with the catalogue: over
    100,000 datasets an unfiltered front page takes a second or more. A count or facet whose
    candidate set has at least ``min_candidates`` datasets is kept for ``ttl`` seconds, keyed
    by database, viewer scope (see :func:`_scope`), query tokens and the filters it is counted
    under. Small candidate sets are always counted afresh, and the page of datasets itself is
    never cached.

    Writes through :func:`index_dataset` and :func:`remove_dataset` clear this process's
    cache; other processes (more workers), deletes, and versions being published show up
    in cached counts within ``ttl``. ``ttl = 0`` turns caching off.
    """

    def __init__(self, *, ttl: float = 30.0, min_candidates: int = 5000,
                 max_entries: int = 2048) -> None:  # fmt: skip
        self.ttl = ttl
        self.min_candidates = min_candidates
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, tuple[FacetCount, ...]]]
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[FacetCount, ...] | None:
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[Any, ...], value: tuple[FacetCount, ...]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


FACET_CACHE = FacetCache()
