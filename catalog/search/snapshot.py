"""An in-process snapshot of what search filters, counts and sorts by, one per database.

Per dataset (a *position* in the arrays): id, organisation, licence, visibility, personal
data, quality, updated and created times, and its tags, themes and published file formats.
Facets are then counts over arrays (:mod:`catalog.search.facets`) instead of aggregates over
every matching row, and the page is a sort over arrays.

A snapshot never changes once built; :class:`SnapshotSource` builds the next one from the
change log (:mod:`catalog.search.changes`) before each search: the datasets that changed are
re-read and patched in, so a write is visible to the next search in every process, and a
new epoch (a re-index) reloads everything. String values keep their place in the database's
collation (asked of the database), so facet ties are broken exactly as ``ORDER BY value``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Organisation,
    VersionState,
    Visibility,
)
from catalog.search.arrays import Ints, Multi, Vocabulary
from catalog.search.card_cache import CardCache
from catalog.search.changes import Changes, read_changes
from catalog.search.fts import all_matches, some_ranks

VISIBILITIES: tuple[Visibility, ...] = tuple(Visibility)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Cached full-text matches per snapshot: entries, and elements across them (16 bytes each).
MATCH_CACHE_ENTRIES = 256
MATCH_CACHE_ELEMENTS = 4_000_000
# PostgreSQL ranks the datasets a page needs by primary key (about 3 µs each) unless they
# are more than 1/RANK_ALL_RATIO of the matches: then every match in one pass (about 1 µs
# each, but all of them).
RANK_ALL_RATIO = 3
# Filter masks kept per snapshot (one byte per dataset each).
RECENT_ENTRIES = 256


@dataclass(frozen=True)
class Match:
    """The datasets that match a query: sorted positions and their ranks (smaller first).

    On PostgreSQL the ranks start unknown (NaN) and :meth:`Snapshot.ranks_of` fills in those
    a page needs: the matches come from the index alone, and only the datasets that pass
    the filters and the viewer's scope pay for ``ts_rank_cd``.
    """

    tokens: tuple[str, ...]
    pos: Ints
    rank: NDArray[np.float64]


@dataclass(frozen=True)
class Snapshot:
    epoch: str | None
    ids: Ints
    alive: NDArray[np.bool_]
    id_pos: Ints  # dataset id -> position, -1 if none
    org: Ints  # organisation id
    licence: Ints  # code in licences, -1 if none
    visibility: Ints  # index in VISIBILITIES
    personal: NDArray[np.bool_]
    quality: Ints  # code in qualities, -1 if none
    updated: Ints  # microseconds since 1970
    created: Ints
    licences: Vocabulary
    qualities: Vocabulary
    multi: dict[str, tuple[Vocabulary, Multi]]  # tag, theme, format
    org_names: dict[int, str]
    collation: dict[str, int]  # every string above -> its place in ORDER BY
    sqlite: bool
    # The page bodies of datasets, as of this snapshot or later (catalog.search.card_cache).
    cards: CardCache = field(default_factory=CardCache, compare=False)
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @property
    def n(self) -> int:
        return len(self.ids)

    def positions_of(self, ids: Ints) -> Ints:
        """Positions of the live datasets among ``ids`` (others are not in this snapshot)."""
        ids = ids[(ids >= 0) & (ids < len(self.id_pos))]
        pos = self.id_pos[ids]
        pos = pos[pos >= 0]
        return pos[self.alive[pos]]

    def cached(self, key: Any, make: Any) -> Any:
        """A value computed once per snapshot (a snapshot never changes)."""
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = make()
        return value

    def recall(self, key: Any) -> Any:
        """A value :meth:`remember` kept, or None."""
        with self._lock:
            recent: OrderedDict[Any, Any] = self._cache.setdefault("recent", OrderedDict())
            value = recent.get(key)
            if value is not None:
                recent.move_to_end(key)
            return value

    def remember(self, key: Any, value: Any) -> None:
        """Keep one of the :data:`RECENT_ENTRIES` most recently used values."""
        with self._lock:
            recent: OrderedDict[Any, Any] = self._cache.setdefault("recent", OrderedDict())
            recent[key] = value
            while len(recent) > RECENT_ENTRIES:
                recent.popitem(last=False)

    def matches(self, session: Session, tokens: list[str], stats: Stats) -> Match:
        """Every dataset matching ``tokens``, from this snapshot's cache or the index.

        A rank depends on the whole index (bm25's statistics), so cached ranks live exactly as
        long as the snapshot: any change to the catalogue starts an empty cache.
        """
        key = tuple(tokens)
        with self._lock:
            cache: OrderedDict[tuple[str, ...], Match] = self._cache.setdefault(
                "matches", OrderedDict()
            )
            found = cache.get(key)
            if found is not None:
                cache.move_to_end(key)
                stats.match_hits += 1
                return found
        stats.match_misses += 1
        ids, ranks = all_matches(session, tokens, sqlite=self.sqlite, ranked=False)
        ok = (ids >= 0) & (ids < len(self.id_pos))
        ids, ranks = ids[ok], ranks[ok]
        pos = self.id_pos[ids]
        keep = pos >= 0
        keep[keep] = self.alive[pos[keep]]
        pos, ranks = pos[keep], ranks[keep]
        # Match.pos is sorted. FTS5 returns ids in order and positions mostly follow ids,
        # so the sort is often not needed (2-3 ms for a broad word).
        if len(pos) > 1 and not (pos[1:] > pos[:-1]).all():
            order = np.argsort(pos)
            pos, ranks = pos[order], ranks[order]
        match = Match(key, pos, ranks)
        with self._lock:
            cache[key] = match
            while len(cache) > MATCH_CACHE_ENTRIES or (
                len(cache) > 1 and sum(len(m.pos) for m in cache.values()) > MATCH_CACHE_ELEMENTS
            ):
                cache.popitem(last=False)
        return match

    def ranks_of(self, session: Session, match: Match, idx: Ints) -> NDArray[np.float64]:
        """The ranks of the matching positions ``idx``, asking the index for those not
        known yet: only the candidates when they are few, else every match at once (ranking
        most of them by primary key would cost more than one pass)."""
        where = np.searchsorted(match.pos, idx)
        ranks = match.rank[where]
        missing = np.isnan(ranks)
        if not missing.any():
            return ranks
        if missing.sum() * RANK_ALL_RATIO > len(match.pos):
            ids, found = all_matches(session, list(match.tokens), sqlite=self.sqlite)
        else:
            ids, found = some_ranks(session, list(match.tokens), self.ids[idx[missing]])
        ok = (ids >= 0) & (ids < len(self.id_pos))
        pos = self.id_pos[ids[ok]]
        known = np.isin(pos, match.pos)
        pos, found = pos[known], found[ok][known]
        with self._lock:  # other searches may fill the same ranks, with the same values
            match.rank[np.searchsorted(match.pos, pos)] = found
        ranks = match.rank[where]
        if np.isnan(ranks).any():  # the index changed under us: rank those last
            ranks = np.where(np.isnan(ranks), np.inf, ranks)
        return ranks


@dataclass
class Stats:
    """Counters for the benchmark and for operators: how often the caches help."""

    searches: int = 0
    sql_fallbacks: int = 0
    match_hits: int = 0
    match_misses: int = 0
    mask_hits: int = 0
    mask_misses: int = 0
    full_loads: int = 0
    patches: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass(frozen=True)
class _State:
    snapshot: Snapshot
    horizon: int
    applied: frozenset[int]  # log entries at or above the horizon already in the snapshot


class SnapshotSource:
    """The current snapshot of one database, brought up to date before each search."""

    def __init__(self) -> None:
        self._state: _State | None = None
        self._lock = threading.Lock()
        self.stats = Stats()

    def current(self, session: Session) -> Snapshot | None:
        """The snapshot as of now, or None when the session has uncommitted writes of its
        own (only SQL in that session sees them)."""
        state = self._state
        changes = read_changes(session, since=state.horizon if state else 0)
        if changes.own_writes:
            return None
        if state is not None and _up_to_date(state, changes):
            return state.snapshot
        with self._lock:  # one refresh at a time; the others wait for its result
            state = self._state
            if state is not None:
                changes = read_changes(session, since=state.horizon)
                if _up_to_date(state, changes):
                    return state.snapshot
            if state is None or changes.truncated or changes.epoch != state.snapshot.epoch:
                snapshot = _load(session, None, None, epoch=changes.epoch)
                self.stats.full_loads += 1
            else:
                new = [e for e in changes.entries if e.id not in state.applied]
                ids = {e.dataset_id for e in new if e.dataset_id is not None}
                snapshot = _load(session, state.snapshot, ids, epoch=changes.epoch)
                self.stats.patches += 1
                if all(e.dataset_id is not None for e in new):  # else an organisation changed
                    snapshot.cards.inherit(state.snapshot.cards, changed=ids)
            applied = frozenset(e.id for e in changes.entries if e.key >= changes.horizon)
            self._state = _State(snapshot, changes.horizon, applied)
            return snapshot


def _up_to_date(state: _State, changes: Changes) -> bool:
    return (
        changes.epoch == state.snapshot.epoch
        and not changes.truncated
        and all(e.id in state.applied for e in changes.entries)
    )


def _load(session: Session, base: Snapshot | None, ids: set[int] | None, *, epoch: str | None
          ) -> Snapshot:  # fmt: skip
    """A new snapshot: everything (``base`` None), or ``base`` with ``ids`` re-read."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    wanted = sorted(ids) if ids is not None else None

    def only(stmt: Any, column: Any) -> Any:
        if wanted is None:
            return stmt
        return stmt.where(column.in_(bindparam("ids", wanted, expanding=True)))

    rows = session.execute(only(select(
        Dataset.id, Dataset.organisation_id, Dataset.licence_id, Dataset.visibility,
        Dataset.contains_personal_data, Dataset.quality_status, Dataset.updated_at,
        Dataset.created_at,
    ), Dataset.id)).all()  # fmt: skip
    pairs = {
        "tag": session.execute(only(select(DatasetTag.dataset_id, DatasetTag.tag),
                                    DatasetTag.dataset_id)).all(),
        "theme": session.execute(only(select(DatasetTheme.dataset_id, DatasetTheme.theme),
                                      DatasetTheme.dataset_id)).all(),
        "format": session.execute(only(
            select(DatasetVersion.dataset_id, DatasetFile.format).distinct()
            .join(DatasetFile, DatasetFile.version_id == DatasetVersion.id)
            .where(DatasetVersion.state == VersionState.published),
            DatasetVersion.dataset_id,
        )).all(),
    }  # fmt: skip
    orgs: dict[int, str] = dict(session.execute(select(Organisation.id, Organisation.name)).all())

    old = base or _empty(epoch, sqlite)
    # Positions: the re-read ids keep theirs, new ids are appended.
    id_pos = old.id_pos
    fresh = [r[0] for r in rows if r[0] >= len(id_pos) or id_pos[r[0]] < 0]
    if fresh:
        grown = np.full(max(len(id_pos), max(fresh) + 1), -1, np.int64)
        grown[: len(id_pos)] = id_pos
        grown[fresh] = np.arange(old.n, old.n + len(fresh))
        id_pos = grown
    n = old.n + len(fresh)

    def extend(array: Any, fill: Any) -> Any:
        out = np.full(n, fill, array.dtype)
        out[: old.n] = array
        return out

    ids_ = extend(old.ids, -1)
    alive = extend(old.alive, False)
    columns = [extend(a, 0) for a in (old.org, old.licence, old.visibility, old.personal,
                                      old.quality, old.updated, old.created)]  # fmt: skip
    org, licence, visibility, personal, quality, updated, created = columns
    licences = old.licences.extended(r[2] for r in rows if r[2] is not None)
    qualities = old.qualities.extended(r[5] for r in rows if r[5] is not None)
    # Datasets that were re-read but are gone: deleted.
    if wanted is not None:
        gone = np.array([i for i in wanted if i < len(old.id_pos)], np.int64)
        gone_pos = old.id_pos[gone] if len(gone) else gone
        alive[gone_pos[gone_pos >= 0]] = False
    if rows:
        pos = id_pos[np.array([r[0] for r in rows], np.int64)]
        ids_[pos] = [r[0] for r in rows]
        alive[pos] = True
        org[pos] = [r[1] for r in rows]
        licence[pos] = [-1 if r[2] is None else licences.codes[r[2]] for r in rows]
        visibility[pos] = [VISIBILITIES.index(Visibility(r[3])) for r in rows]
        personal[pos] = [bool(r[4]) for r in rows]
        quality[pos] = [-1 if r[5] is None else qualities.codes[r[5]] for r in rows]
        updated[pos] = [(r[6] - _EPOCH) // _MICROSECOND for r in rows]
        created[pos] = [(r[7] - _EPOCH) // _MICROSECOND for r in rows]

    multi = {}
    for name, found in pairs.items():
        if wanted == [] and old.n == n:  # only organisations changed: nothing to re-index
            multi[name] = old.multi[name]
            continue
        vocabulary, old_multi = old.multi[name]
        vocabulary = vocabulary.extended(v for _, v in found)
        keep_pos, keep_code = old_multi.pos, old_multi.code
        if wanted is not None and len(keep_pos):
            reread = np.zeros(n, bool)
            reread[id_pos[[i for i in wanted if i < len(id_pos) and id_pos[i] >= 0]]] = True
            keep = ~reread[keep_pos]
            keep_pos, keep_code = keep_pos[keep], keep_code[keep]
        new_pos = id_pos[np.array([d for d, _ in found], np.int64)] if found else keep_pos[:0]
        new_code = np.array([vocabulary.codes[v] for _, v in found], np.int64)
        multi[name] = (vocabulary, Multi.build(
            np.concatenate([keep_pos, new_pos]), np.concatenate([keep_code, new_code]),
            n, len(vocabulary.values),
        ))  # fmt: skip

    strings = {*licences.values, *qualities.values, *orgs.values(), *_FIXED_STRINGS}
    for vocabulary, _ in multi.values():
        strings.update(vocabulary.values)
    collation = old.collation if strings <= old.collation.keys() else _collate(session, strings)
    return Snapshot(
        epoch=epoch, ids=ids_, alive=alive, id_pos=id_pos, org=org, licence=licence,
        visibility=visibility, personal=personal, quality=quality, updated=updated,
        created=created, licences=licences, qualities=qualities, multi=multi, org_names=orgs,
        collation=collation, sqlite=sqlite,
    )  # fmt: skip


# Values of facets that are not stored as strings (visibility, personal data).
_FIXED_STRINGS = frozenset({*(v.value for v in Visibility), "true", "false"})


def _empty(epoch: str | None, sqlite: bool) -> Snapshot:
    none = np.zeros(0, np.int64)
    no_multi = Multi.build(none, none, 0, 0)
    return Snapshot(
        epoch=epoch, ids=none, alive=np.zeros(0, bool), id_pos=none, org=none, licence=none,
        visibility=none, personal=np.zeros(0, bool), quality=none, updated=none, created=none,
        licences=Vocabulary(), qualities=Vocabulary(),
        multi={name: (Vocabulary(), no_multi) for name in ("tag", "theme", "format")},
        org_names={}, collation={}, sqlite=sqlite,
    )  # fmt: skip


def _collate(session: Session, strings: Sequence[str] | set[str]) -> dict[str, int]:
    """Each string's place in the database's ``ORDER BY`` (its collation, not Python's)."""
    values = sorted(strings)
    if session.get_bind().dialect.name == "sqlite":
        import json

        stmt = text("SELECT value FROM json_each(:v) ORDER BY value")
        ordered = session.scalars(stmt, {"v": json.dumps(values)}).all()
    else:
        stmt = text("SELECT v FROM unnest(CAST(:v AS text[])) AS v ORDER BY v")
        ordered = session.scalars(stmt, {"v": values}).all()
    return {value: i for i, value in enumerate(ordered)}
