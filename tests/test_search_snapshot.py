"""The in-process search snapshot against the SQL reference, on both engines.

A seeded catalogue with every kind of visibility, missing licences and quality, drafts and
published versions, and tags that differ only in case or accents. Every search is run both
ways (``catalog.search.query`` from the snapshot, ``catalog.search.sql`` in SQL) and must give
the same page, count and facets for every kind of viewer. Writes are committed from other
sessions, as another process would, and must show in the next search; a re-index and an
emptied catalogue start a new epoch.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session

from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Organisation,
    Role,
    VersionState,
    Visibility,
)
from catalog.presenters import dataset_public
from catalog.principal import ANONYMOUS, Principal
from catalog.search import index_dataset, rebuild_index, search_datasets
from catalog.search import snapshot as snapshot_module
from catalog.search.cards import card_bodies, dataset_cards
from catalog.search.changes import compact_changes
from catalog.search.query import snapshot_source
from catalog.search.request import normalise_filters
from catalog.search.snapshot import Snapshot, SnapshotSource
from catalog.search.sql import sql_search
from catalog.search.text import query_tokens
from catalog.versions import latest_published
from tests.support.databases import migrated_engine

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ORGS = ["smhi", "boras-stad", "trafikverket", "skolverket"]
WORDS = ["Luftkvalitet", "Lufttemperatur", "Väder", "Trafik", "Skolor", "Befolkning", "Borås"]
TAGS = ["väder", "Väder", "vader", "klimat", "trafik", "air-quality", "a_b", "skola", "Zeta"]
THEMES = ["environment", "transport", "education", "society"]
LICENCES = ["CC-BY-4.0", "CC0-1.0", "ODbL-1.0", None]
FORMATS = ["csv", "parquet", "json", "CSV"]
QUALITY = ["passed", "warnings", "failed", None]
N = 240


@dataclass(frozen=True)
class Catalogue:
    engine: Engine
    orgs: dict[str, int]
    viewers: dict[str, Principal]


def _seed(engine: Engine) -> Catalogue:
    rng = random.Random(3)
    with Session(engine) as s:
        orgs = {name: Organisation(name=name, title=name.title(), description="") for name in ORGS}
        s.add_all(orgs.values())
        s.flush()
        for i in range(N):
            org = orgs[rng.choice(ORGS)]
            dataset = Dataset(
                organisation_id=org.id, name=f"d{i}",
                title=" ".join(rng.sample(WORDS, rng.randint(1, 3))),
                description=" ".join(rng.sample(WORDS, 2)),
                visibility=rng.choice(list(Visibility)), licence_id=rng.choice(LICENCES),
                contains_personal_data=rng.random() < 0.2, quality_status=rng.choice(QUALITY),
                # Few distinct times, so ties are broken by id.
                created_at=T0 + timedelta(days=rng.randint(0, 5)),
                updated_at=T0 + timedelta(days=rng.randint(0, 5)),
            )  # fmt: skip
            dataset.tag_rows = [DatasetTag(tag=t) for t in rng.sample(TAGS, rng.randint(0, 3))]
            dataset.theme_rows = [DatasetTheme(theme=t) for t in rng.sample(THEMES, 1)]
            s.add(dataset)
            s.flush()
            for number in range(1, rng.randint(0, 3) + 1):
                state = rng.choice([VersionState.published, VersionState.draft])
                version = DatasetVersion(dataset_id=dataset.id, number=number, state=state)
                s.add(version)
                s.flush()
                for k, fmt in enumerate(rng.sample(FORMATS, rng.randint(1, 2))):
                    s.add(_file(version.id, f"{k}.{fmt}", fmt))
        rebuild_index(s)
        s.commit()
        ids = {name: org.id for name, org in orgs.items()}
    viewers = {
        "anonymous": ANONYMOUS,
        "member": Principal(user_id=1, roles={ids["smhi"]: Role.member}),
        "two-orgs": Principal(user_id=2, roles={ids["boras-stad"]: Role.admin,
                                                ids["skolverket"]: Role.member}),
        "sysadmin": Principal(user_id=3, is_sysadmin=True),
    }  # fmt: skip
    return Catalogue(engine, ids, viewers)


def _file(version_id: int, key: str, fmt: str) -> DatasetFile:
    return DatasetFile(version_id=version_id, key=key, format=fmt,
                       media_type="application/octet-stream", size=1, sha256="0" * 64)  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalogue(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Catalogue]:  # fmt: skip
    with migrated_engine(request.param, tmp_path_factory.mktemp("snap"), "datahamn_snapshot") as e:
        yield _seed(e)


QUERIES: list[dict[str, Any]] = [
    {},
    {"q": "luft"},
    {"q": "LUFTTEMPERATUR"},
    {"q": "vader"},
    {"q": "boras befolkning"},
    {"q": "nothing-matches-this"},
    {"q": "(("},
    {"tags": ["väder"]},
    {"tags": ["Väder", "vader"], "organisations": ["smhi", "trafikverket"]},
    {"q": "tr", "licences": ["cc-by-4.0"], "formats": ["CSV"]},
    {"q": "luft", "themes": ["environment"], "quality": ["passed", "failed"]},
    {"visibility": [Visibility.restricted, Visibility.private], "personal_data": True},
    {"personal_data": False, "formats": ["parquet"], "tags": ["a_b", "Zeta"]},
    {"organisations": ["no-such-org"], "tags": ["bad\x00value"]},
    {"q": "skolor", "organisations": ["skolverket", "boras-stad"], "licences": ["ODbL-1.0"]},
]
SORTS = ["relevance", "updated", "created", "title"]


def _both(session: Session, viewer: Principal, query: dict[str, Any], **page: Any
          ) -> tuple[Any, Any]:  # fmt: skip
    new = search_datasets(session, principal=viewer, **query, **page)
    keys = {"organisations": "organisation", "tags": "tag", "themes": "theme",
            "licences": "licence", "formats": "format"}  # fmt: skip
    filters = normalise_filters(**{keys.get(k, k): v for k, v in query.items() if k != "q"})
    old = sql_search(session, principal=viewer, tokens=query_tokens(query.get("q")),
                     filters=filters, sort=page.get("sort", "relevance"),
                     offset=page.get("offset", 0), limit=page.get("limit", 20))  # fmt: skip
    return (new.ids, new.count, new.facets), (old.ids, old.count, old.facets)


def _assert_same_everywhere(session: Session, catalogue: Catalogue, *, every: bool = False
                            ) -> None:  # fmt: skip
    """Every viewer and query; ``every``: also every sort order and a second page."""
    for viewer in catalogue.viewers.values():
        for query in QUERIES:
            for sort in SORTS if every else ["relevance"]:
                for offset in (0, 7) if every else (0,):
                    new, old = _both(session, viewer, query, sort=sort, offset=offset, limit=9)
                    assert new == old, (viewer, query, sort, offset)


def test_snapshot_equals_sql(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        before = snapshot_source(session).stats.sql_fallbacks
        _assert_same_everywhere(session, catalogue, every=True)
        # Every one of those went through the snapshot, none fell back to SQL.
        assert snapshot_source(session).stats.sql_fallbacks == before


@pytest.mark.parametrize("rank_all_ratio", [10**9, 1])
def test_ranks_filled_in_per_page_or_all_at_once_order_as_sql(
    catalogue: Catalogue, rank_all_ratio: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ranks only what a page needs (every match at once past a threshold);
    SQLite has every rank from the match. Either way the order is the SQL's."""
    monkeypatch.setattr(snapshot_module, "RANK_ALL_RATIO", rank_all_ratio)
    with Session(catalogue.engine) as session:
        _assert_same_everywhere(session, catalogue, every=True)
        match = snapshot_source(session).current(session)
        assert match is not None
        luft = match.matches(session, ["luft"], snapshot_source(session).stats)
        sqlite = session.get_bind().dialect.name == "sqlite"
        # Ranked so far: all of them on SQLite, and (PostgreSQL) those pages needed.
        assert not np.isnan(luft.rank).any() if sqlite else not np.isnan(luft.rank).all()


def test_matches_out_of_the_snapshots_order_rank_as_sql(catalogue: Catalogue) -> None:
    """On PostgreSQL an updated row moves to the end of its table: the snapshot, loaded in
    the table's order, then holds the first datasets last, while the index (not rewritten)
    still returns them first."""
    first_ids = Dataset.id <= 40
    _commit(catalogue, lambda s: s.execute(update(Dataset).where(first_ids).values(homepage="")))
    with Session(catalogue.engine) as session:
        _assert_same_everywhere(session, catalogue, every=True)


def test_facets_drill_down_and_limits(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        for viewer in catalogue.viewers.values():
            new, old = _both(session, viewer, {"tags": ["väder"], "formats": ["csv"]}, limit=0)
            assert new == old and new[0] == []
            new, old = _both(session, viewer, {"q": "luft"}, offset=10_000)
            assert new == old and new[0] == []


def _commit(catalogue: Catalogue, change: Any) -> None:
    """A write in its own session and transaction, as another process would make it."""
    with Session(catalogue.engine) as writer:
        change(writer)
        writer.commit()


def _snapshot_matches_a_fresh_load(session: Session) -> None:
    """The patched snapshot holds what a full load now reads (a second process)."""
    patched = snapshot_source(session).current(session)
    fresh = SnapshotSource().current(session)
    assert patched is not None and fresh is not None
    assert _rows(patched) == _rows(fresh)


def _rows(snapshot: Snapshot) -> dict[int, tuple[Any, ...]]:
    out = {}
    for p in np.flatnonzero(snapshot.alive).tolist():
        multi = []
        for name in ("tag", "theme", "format"):
            vocabulary, m = snapshot.multi[name]
            codes = m.code[m.starts[p] : m.starts[p + 1]].tolist()
            multi.append(sorted(vocabulary.values[c] for c in codes))
        out[int(snapshot.ids[p])] = (
            snapshot.org_names[int(snapshot.org[p])],
            None if snapshot.licence[p] < 0 else snapshot.licences.values[snapshot.licence[p]],
            int(snapshot.visibility[p]), bool(snapshot.personal[p]),
            None if snapshot.quality[p] < 0 else snapshot.qualities.values[snapshot.quality[p]],
            int(snapshot.updated[p]), int(snapshot.created[p]), *map(tuple, multi),
        )  # fmt: skip
    return out


def _retag(s: Session) -> None:
    s.execute(delete(DatasetTag).where(DatasetTag.tag == "klimat"))
    s.add(DatasetTag(dataset_id=s.scalars(select(Dataset.id).limit(1)).one(), tag="ny-tagg"))


def _publish_drafts(s: Session) -> None:
    s.execute(
        update(DatasetVersion)
        .where(DatasetVersion.state == VersionState.draft)
        .values(state=VersionState.published)
    )


def _add_format(s: Session) -> None:
    version = s.scalars(select(DatasetVersion).order_by(DatasetVersion.id).limit(1)).one()
    version.state = VersionState.published
    s.add(_file(version.id, "new.geojson", "geojson"))


def _open_up(s: Session) -> None:
    s.execute(update(Dataset).where(Dataset.id % 3 == 0).values(visibility=Visibility.public))


def _delete_some(s: Session) -> None:
    s.execute(delete(Dataset).where(Dataset.id % 5 == 0))


def _rename_org(s: Session) -> None:
    s.execute(update(Organisation).where(Organisation.name == "smhi").values(name="smhi-ny"))


def _new_dataset(s: Session) -> None:
    org_id = s.scalars(select(Organisation.id).order_by(Organisation.id)).first()
    assert org_id is not None
    dataset = Dataset(organisation_id=org_id, name="ny", title="Lufttemperatur ny",
                      visibility=Visibility.public, licence_id="MIT",
                      quality_status="warnings", updated_at=T0 + timedelta(days=30))  # fmt: skip
    dataset.tag_rows = [DatasetTag(tag="helt-ny")]
    s.add(dataset)
    s.flush()
    index_dataset(s, dataset)


@pytest.mark.parametrize(
    "change",
    [_retag, _publish_drafts, _add_format, _open_up, _delete_some, _rename_org, _new_dataset],
)
def test_a_committed_write_is_visible_to_the_next_search(catalogue: Catalogue, change: Any) -> None:
    with Session(catalogue.engine) as session:
        search_datasets(session, principal=ANONYMOUS)  # the snapshot exists before the write
        session.commit()
        loads = snapshot_source(session).stats.full_loads
        _commit(catalogue, change)
        _assert_same_everywhere(session, catalogue)
        _snapshot_matches_a_fresh_load(session)
        # Patched from the change log, not reloaded.
        assert snapshot_source(session).stats.full_loads == loads


def test_new_dataset_found_at_once(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        assert search_datasets(session, principal=ANONYMOUS, q="helt").count == 0
        session.commit()
        _commit(catalogue, _new_dataset)
        result = search_datasets(session, principal=ANONYMOUS, q="lufttemperatur ny")
        assert [d.name for d in result.datasets] == ["ny"]
        assert {"value": "helt-ny", "count": 1} in [vars(f) for f in result.facets["tag"]]


def test_uncommitted_writes_are_seen_only_by_their_session(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session, Session(catalogue.engine) as other:
        before = search_datasets(other, principal=ANONYMOUS)
        other.commit()
        _new_dataset(session)  # not committed
        assert search_datasets(session, principal=ANONYMOUS, q="lufttemperatur ny").count == 1
        assert search_datasets(other, principal=ANONYMOUS, q="lufttemperatur ny").count == 0
        other.commit()
        session.rollback()
        after = search_datasets(session, principal=ANONYMOUS)
        assert (after.ids, after.count, after.facets) == (before.ids, before.count, before.facets)
        _snapshot_matches_a_fresh_load(session)


def test_rebuild_index_starts_a_new_epoch(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        search_datasets(session, principal=ANONYMOUS, q="luft")
        session.commit()
        loads = snapshot_source(session).stats.full_loads
        _commit(catalogue, rebuild_index)
        _assert_same_everywhere(session, catalogue)
        assert snapshot_source(session).stats.full_loads == loads + 1


def test_emptying_the_catalogue_is_seen(catalogue: Catalogue) -> None:
    """TRUNCATE (PostgreSQL) fires no row triggers: it starts a new epoch instead."""
    with Session(catalogue.engine) as session:
        assert search_datasets(session, principal=ANONYMOUS).count > 0
        session.commit()
        if session.get_bind().dialect.name == "postgresql":
            statement = "TRUNCATE datasets, search_state, search_changes CASCADE"
        else:
            statement = "DELETE FROM datasets"
        _commit(catalogue, lambda s: s.execute(text(statement)))
        result = search_datasets(session, principal=catalogue.viewers["sysadmin"])
        assert (result.count, result.ids, result.facets["tag"]) == (0, [], [])


def test_cards_equal_dataset_public(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        ids = session.scalars(select(Dataset.id).order_by(Dataset.id.desc())).all()
        datasets = {d.id: d for d in session.scalars(select(Dataset))}
        latest = latest_published(session, list(ids))
        expected = [dataset_public(datasets[i], latest.get(i)) for i in ids]
        assert dataset_cards(session, [*ids, 10**9]) == expected
        assert dataset_cards(session, []) == []


def test_a_long_change_log_is_emptied_by_housekeeping(catalogue: Catalogue) -> None:
    with Session(catalogue.engine) as session:
        search_datasets(session, principal=ANONYMOUS, q="luft")
        session.commit()
        loads = snapshot_source(session).stats.full_loads
        _commit(catalogue, _new_dataset)  # the triggers log it
        logged = session.execute(text("SELECT count(*) FROM search_changes")).scalar_one()
        assert logged > 0
        assert not compact_changes(session, keep=logged)  # not above the threshold: kept
        session.commit()
        assert compact_changes(session, keep=logged - 1)
        session.commit()
        assert session.execute(text("SELECT count(*) FROM search_changes")).scalar_one() == 0
        # Every process reloads once, and still sees the write made before the compaction.
        assert search_datasets(session, principal=ANONYMOUS, q="lufttemperatur ny").count == 1
        assert snapshot_source(session).stats.full_loads == loads + 1
        _assert_same_everywhere(session, catalogue)


def _retitle_first(s: Session) -> None:
    first = s.scalars(select(Dataset).order_by(Dataset.id).limit(1)).one()
    first.title, first.description = "Omdöpt", "Ny beskrivning"


def _retitle_org(s: Session) -> None:
    s.execute(update(Organisation).where(Organisation.name == "smhi").values(title="SMHI ny"))


def _fresh_bodies(session: Session, ids: list[int]) -> list[bytes]:
    return [card.model_dump_json().encode() for card in dataset_cards(session, ids)]


@pytest.mark.parametrize(
    "change", [_retitle_first, _retag, _publish_drafts, _delete_some, _rename_org, _retitle_org]
)
def test_cached_bodies_follow_writes(catalogue: Catalogue, change: Any) -> None:
    """The page bodies kept per snapshot are those of the catalogue after any write."""
    everyone = catalogue.viewers["sysadmin"]
    with Session(catalogue.engine) as session:
        before = search_datasets(session, principal=everyone, limit=N, rows=False)
        assert card_bodies(session, before.ids, before.cards) == _fresh_bodies(session, before.ids)
        assert before.cards is not None and len(before.cards) == len(before.ids)
        session.commit()
        _commit(catalogue, change)
        after = search_datasets(session, principal=everyone, limit=N, rows=False)
        assert card_bodies(session, after.ids, after.cards) == _fresh_bodies(session, after.ids)


def test_bodies_are_kept_until_their_dataset_or_an_organisation_changes(
    catalogue: Catalogue,
) -> None:
    everyone = catalogue.viewers["sysadmin"]
    with Session(catalogue.engine) as session:
        first, second = session.scalars(select(Dataset.id).order_by(Dataset.id).limit(2)).all()

        def bodies() -> list[bytes]:
            result = search_datasets(session, principal=everyone, limit=N, rows=False)
            found = card_bodies(session, [first, second], result.cards)
            session.commit()
            return found

        bodies()
        # Marked bodies: a search that returns them took them from the cache.
        result = search_datasets(session, principal=everyone, limit=N, rows=False)
        assert result.cards is not None
        result.cards.put_many({first: b'"kept 1"', second: b'"kept 2"'})
        session.commit()
        assert bodies() == [b'"kept 1"', b'"kept 2"']

        _commit(catalogue, _retitle_first)  # changes the first dataset only
        fresh_first = _fresh_bodies(session, [first])[0]
        session.commit()
        assert bodies() == [fresh_first, b'"kept 2"']
        assert "Omdöpt".encode() in fresh_first

        _commit(catalogue, _retitle_org)  # may change any body: none is kept
        assert b'"kept 2"' not in bodies()

        # Searching in SQL (a session with writes of its own) keeps nothing.
        session.execute(update(Dataset).where(Dataset.id == second).values(homepage=None))
        result = search_datasets(session, principal=everyone, limit=N, rows=False)
        assert result.cards is None
        session.rollback()
