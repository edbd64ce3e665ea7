"""Search in SQL: filters, facets and paging as statements (the reference implementation).

:mod:`catalog.search.query` answers most searches from an in-process snapshot; this module
answers the rest (``sort="title"``, whose order is the database's collation, and searches in a
session that has uncommitted writes of its own, which only the session can see), and it is
what the tests compare the snapshot against.

A search is two statements (plus one each for the page's tags and themes): the page, ranked
by ``bm25`` (SQLite; title 10, tags 5, organisation 2, description 1) or ``ts_rank_cd``
(PostgreSQL, the same ratios as A/B/C/D weights); and one that materialises each candidate
set it needs as a CTE (every filter; every filter but one, for that filter's facet) and
returns the count and all facets as a ``UNION ALL`` of aggregates over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    exists,
    false,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session, joinedload, selectinload
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Join

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
from catalog.search import request
from catalog.search.fts import matches as fts_matches
from catalog.search.fts import ranked as fts_ranked
from catalog.search.request import (
    FACET_NAMES,
    FACET_SIZE,
    FacetCount,
    FilterValues,
    SearchResult,
    scope_of,
)
from catalog.search.text import fts5_query, tsquery


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def sql_search(
    session: Session,
    *,
    principal: Principal,
    tokens: list[str],
    filters: dict[str, FilterValues],
    sort: str,
    offset: int,
    limit: int,
) -> SearchResult:
    """The whole search in SQL (arguments as :func:`catalog.search.search_datasets` has
    normalised them)."""
    search = _Search(sqlite=is_sqlite(session), tokens=tokens, principal=principal,
                     filters=filters)  # fmt: skip
    datasets = search.page(session, sort=sort, offset=offset, limit=limit) if limit else []
    count, facets = search.stats(session)
    return SearchResult(datasets=datasets, count=count, facets=facets, ids=[d.id for d in datasets])


def sql_page(
    session: Session,
    *,
    principal: Principal,
    tokens: list[str],
    filters: dict[str, FilterValues],
    sort: str,
    offset: int,
    limit: int,
) -> list[Dataset]:
    """Only the page, in SQL."""
    search = _Search(sqlite=is_sqlite(session), tokens=tokens, principal=principal,
                     filters=filters)  # fmt: skip
    return search.page(session, sort=sort, offset=offset, limit=limit)


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
            scope_of(self.principal),
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
            ranked = fts_ranked(sqlite=self.sqlite)
            stmt = stmt.join(ranked, ranked.c.id == Dataset.id)
            order.append(ranked.c.rank.asc() if self.sqlite else ranked.c.rank.desc())
        elif self.tokens:
            matches = fts_matches(sqlite=self.sqlite)
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
        """The count and the facets, from one statement."""
        # The candidate set each result is counted over: None = q, visibility and every
        # filter; a filter's name = the same without that filter (drill-down facets).
        wanted: dict[str, str | None] = {"~count": None}
        wanted.update(
            {
                name: name if request.DRILL_DOWN and name in self.filters else None
                for name in FACET_NAMES
            }
        )
        found, _sizes = self._compute(session, wanted)
        count_rows = found["~count"]
        count = count_rows[0].count if count_rows else 0
        return count, {name: list(found[name]) for name in FACET_NAMES}

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
            matches = fts_matches(sqlite=self.sqlite)
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
