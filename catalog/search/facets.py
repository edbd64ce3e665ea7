"""Candidates and facets over a snapshot: the viewer's scope, filters, and counts per value.

Sets of datasets are boolean arrays over the snapshot's positions; a facet is a ``bincount``
of the candidates' codes, cut to the top :data:`~catalog.search.request.FACET_SIZE` values by
count descending, then value in the database's order, exactly as the SQL
(:mod:`catalog.search.sql`) orders them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from catalog.principal import Principal
from catalog.search.arrays import Ints
from catalog.search.request import FACET_SIZE, FacetCount, FilterValues, scope_of
from catalog.search.snapshot import VISIBILITIES, Snapshot, Stats

Mask = NDArray[np.bool_]

_PARTNER_VISIBLE = [
    VISIBILITIES.index(v) for v in VISIBILITIES if v.value in {"public", "partners", "restricted"}
]
_PUBLIC = VISIBILITIES.index(next(v for v in VISIBILITIES if v.value == "public"))


def scope_mask(snapshot: Snapshot, principal: Principal) -> Mask:
    """The datasets whose metadata the principal may see (``visible_datasets``)."""
    scope = scope_of(principal)

    def make() -> Mask:
        if principal.is_sysadmin:
            return snapshot.alive.copy()
        if not principal.is_partner:
            public: Mask = snapshot.alive & (snapshot.visibility == _PUBLIC)
            return public
        own = _among(snapshot.org, list(principal.roles), _org_size(snapshot))
        partner = _among(snapshot.visibility, _PARTNER_VISIBLE, len(VISIBILITIES))
        visible: Mask = snapshot.alive & (partner | own)
        return visible

    mask: Mask = snapshot.cached(("scope", scope), make)
    return mask


def filter_mask(snapshot: Snapshot, name: str, values: FilterValues, stats: Stats) -> Mask:
    """The datasets one filter lets through (values within a filter are ORed), kept per
    snapshot for the most recently used filters (a snapshot never changes)."""
    found: Mask | None = snapshot.recall(("filter", name, values))
    if found is not None:
        stats.mask_hits += 1
        return found
    stats.mask_misses += 1
    mask = _filter_mask(snapshot, name, values)
    mask.setflags(write=False)  # shared between searches
    snapshot.remember(("filter", name, values), mask)
    return mask


def _filter_mask(snapshot: Snapshot, name: str, values: FilterValues) -> Mask:
    n = snapshot.n
    if not values:
        return np.zeros(n, bool)
    if name == "personal_data":
        personal: Mask = snapshot.personal == (values == ("true",))
        return personal
    if name in snapshot.multi:
        vocabulary, multi = snapshot.multi[name]
        mask = np.zeros(n, bool)
        for value in values:
            code = vocabulary.codes.get(value)
            if code is not None:
                mask[multi.positions(code)] = True
        return mask
    if name == "organisation":
        wanted = {org_id for org_id, org_name in snapshot.org_names.items() if org_name in values}
        return _among(snapshot.org, sorted(wanted), _org_size(snapshot))
    if name == "visibility":
        codes = [i for i, v in enumerate(VISIBILITIES) if v.value in values]
        return _among(snapshot.visibility, codes, len(VISIBILITIES))
    if name == "licence":  # SPDX ids are case-insensitive; values are lower-case
        codes = [c for c, v in enumerate(snapshot.licences.values) if v.lower() in values]
        return _among(snapshot.licence, codes, len(snapshot.licences.values))
    if name == "quality":
        codes = [c for c, v in enumerate(snapshot.qualities.values) if v in values]
        return _among(snapshot.quality, codes, len(snapshot.qualities.values))
    raise ValueError(name)


def _among(codes: Ints, wanted: Sequence[int], size: int) -> Mask:
    """Whether each code (-1 <= code < size; -1 is never wanted) is one of ``wanted``: a
    lookup table indexed by code, much cheaper than ``np.isin`` over 100,000 codes."""
    size = max(size, max(wanted, default=-1) + 1)
    table = np.zeros(size + 1, bool)  # the last slot stays False and answers code -1
    table[[w for w in wanted if w >= 0]] = True
    found: Mask = table[codes]
    return found


def _org_size(snapshot: Snapshot) -> int:
    """One more than the largest organisation id of any dataset."""
    size: int = snapshot.cached("org_size", lambda: int(snapshot.org.max(initial=0)) + 1)
    return size


def facet(snapshot: Snapshot, name: str, idx: Ints) -> list[FacetCount]:
    """A facet's top values over the candidates at positions ``idx``."""
    if name == "organisation":
        return _top(
            np.bincount(snapshot.org[idx]), _ranked(snapshot, name, lambda: _org_names(snapshot))
        )
    if name in snapshot.multi:
        vocabulary, multi = snapshot.multi[name]
        counts = np.bincount(multi.codes_of(idx, snapshot.n), minlength=len(vocabulary.values))
        return _top(counts, _ranked(snapshot, name, lambda: vocabulary.values))
    if name == "licence":
        return _coded(
            snapshot.licence[idx], _ranked(snapshot, name, lambda: snapshot.licences.values)
        )
    if name == "quality":
        return _coded(
            snapshot.quality[idx], _ranked(snapshot, name, lambda: snapshot.qualities.values)
        )
    if name == "visibility":
        counts = np.bincount(snapshot.visibility[idx], minlength=len(VISIBILITIES))
        return _top(counts, _ranked(snapshot, name, lambda: [v.value for v in VISIBILITIES]))
    if name == "personal_data":
        counts = np.bincount(snapshot.personal[idx].astype(np.int64), minlength=2)
        return _top(counts, _ranked(snapshot, name, lambda: ["false", "true"]))
    raise ValueError(name)


# A facet's values by code, and each one's place in the database's ORDER BY.
_Ranked = tuple[Sequence[str], Ints]


def _ranked(snapshot: Snapshot, name: str, values: Callable[[], Sequence[str]]) -> _Ranked:
    """Kept per snapshot: looking each present value up in the collation on every search
    took a tenth of a cached search's time."""

    def make() -> _Ranked:
        names = values()
        return names, np.array([snapshot.collation.get(v, -1) for v in names], np.int64)

    ranked: _Ranked = snapshot.cached(("ranked", name), make)
    return ranked


def _org_names(snapshot: Snapshot) -> list[str]:
    """Organisation names by id ("" for an id no organisation has: it never counts)."""
    return [snapshot.org_names.get(i, "") for i in range(_org_size(snapshot))]


def _coded(codes: Ints, ranked: _Ranked) -> list[FacetCount]:
    return _top(np.bincount(codes[codes >= 0], minlength=len(ranked[0])), ranked)


def _top(counts: Ints, ranked: _Ranked) -> list[FacetCount]:
    names, places = ranked
    present = np.flatnonzero(counts)
    if not len(present):
        return []
    order = np.lexsort((places[present], -counts[present]))[:FACET_SIZE]
    top = present[order]
    return [
        FacetCount(value=names[c], count=n)
        for c, n in zip(top.tolist(), counts[top].tolist(), strict=True)
    ]
