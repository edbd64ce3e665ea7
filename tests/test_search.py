"""catalog.search on both engines: ranking, filters, facets, paging, visibility, hostile input.

The same corpus is loaded once per engine (SQLite file, then a throw-away PostgreSQL database)
and the read-only tests share it; tests that change the index roll their transaction back.

Case and diacritics are folded in Python before text reaches either engine (``Borås`` is
indexed and searched as ``boras``), so ``borås``, ``BORÅS`` and ``boras`` give the same result
on SQLite and on PostgreSQL, even though PostgreSQL's ``simple`` configuration cannot strip
accents itself. Letters without a decomposition (``ø``, ``æ``) are not folded on either engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from catalog.errors import InvalidInput
from catalog.models import (
    Dataset,
    DatasetFile,
    DatasetTag,
    DatasetTheme,
    DatasetVersion,
    Membership,
    Organisation,
    Role,
    User,
    VersionState,
    Visibility,
)
from catalog.principal import ANONYMOUS, Principal
from catalog.search import (
    FacetCount,
    index_dataset,
    rebuild_index,
    remove_dataset,
    search_datasets,
)
from tests.support.databases import migrated_engine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- factories ------------------------------------------------------------------------------


def make_org(session: Session, name: str, title: str) -> Organisation:
    org = Organisation(name=name, title=title, description="")
    session.add(org)
    session.flush()
    return org


def make_member(session: Session, username: str, org: Organisation) -> Principal:
    user = User(username=username, email=f"{username}@example.org")
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=org.id, role=Role.member))
    return Principal(user_id=user.id, username=username, roles={org.id: Role.member})


FILE = {"media_type": "application/octet-stream", "size": 1, "sha256": "0" * 64}


def make_dataset(
    session: Session,
    org: Organisation,
    name: str,
    title: str,
    *,
    age: int,
    tags: Sequence[str] = (),
    themes: Sequence[str] = (),
    formats: Sequence[str] = (),
    draft: bool = False,
    **columns: Any,
) -> Dataset:
    """``age``: days since the last update; creation order is the reverse of update order."""
    dataset = Dataset(organisation_id=org.id, name=name, title=title, **columns)
    dataset.created_at = T0 + timedelta(days=age)
    dataset.updated_at = T0 + timedelta(days=100 - age)
    dataset.tag_rows = [DatasetTag(tag=t) for t in tags]
    dataset.theme_rows = [DatasetTheme(theme=t) for t in themes]
    session.add(dataset)
    session.flush()
    if formats:
        state = VersionState.draft if draft else VersionState.published
        version = DatasetVersion(dataset_id=dataset.id, number=1, state=state, changelog="")
        session.add(version)
        session.flush()
        for i, fmt in enumerate(formats):
            session.add(DatasetFile(version_id=version.id, key=f"{i}.{fmt}", format=fmt, **FILE))
    index_dataset(session, dataset)
    return dataset


# org | name | title | days since update | visibility | licence | personal data | tags |
# themes | formats of version 1 (a leading "!": the version is a draft) | description
CORPUS = """\
smhi|luft|Lufttemperatur Borås|5|public|CC-BY-4.0|n|klimat temperatur|environment|parquet|\
Timvärden från mätstationer
smhi|nederbord|Nederbörd per dygn|1|public|CC0-1.0|n|klimat||csv|\
Mängd nederbörd, jämförs med lufttemperatur
smhi|intern|Intern mätdata|2|private||y|klimat internt|||
boras-stad|befolkning|Befolkning per kommun|3|public|CC-BY-4.0|n|befolkning|society|!parquet|
boras-stad|skolor|Skolor och elever|4|restricted|CC-BY-4.0|y|utbildning|education||
boras-stad|budget|Hemlig budget|6|private||n||||
trafikverket|floden|Trafikflöden på vägar|7|partners|CC0-1.0|n|trafik|transport|csv parquet|
trafikverket|olyckor|Trafikolyckor|8|public|CC-BY-4.0|y|olyckor trafik|transport|csv|
"""


@dataclass(frozen=True)
class Corpus:
    engine: Engine
    ids: dict[str, int]
    alice: Principal  # member of smhi
    bob: Principal  # member of trafikverket: a partner


def _load(engine: Engine) -> Corpus:
    with Session(engine) as s:
        orgs = {
            "smhi": make_org(s, "smhi", "SMHI"),
            "boras-stad": make_org(s, "boras-stad", "Borås Stad"),
            "trafikverket": make_org(s, "trafikverket", "Trafikverket"),
        }
        alice = make_member(s, "alice", orgs["smhi"])
        bob = make_member(s, "bob", orgs["trafikverket"])
        ids = {}
        for line in CORPUS.splitlines():
            org, name, title, age, vis, lic, pd, tags, themes, formats, desc = line.split("|")
            dataset = make_dataset(
                s, orgs[org], name, title, age=int(age), description=desc, tags=tags.split(),
                themes=themes.split(), visibility=Visibility(vis), licence_id=lic or None,
                contains_personal_data=pd == "y", formats=formats.strip("!").split(),
                draft=formats.startswith("!"),
            )  # fmt: skip
            ids[name] = dataset.id
        s.commit()
        return Corpus(engine, ids, alice, bob)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    with migrated_engine(request.param, tmp_path_factory.mktemp("search"), "datahamn_search") as e:
        yield _load(e)


@pytest.fixture
def session(corpus: Corpus) -> Iterator[Session]:
    with Session(corpus.engine) as s:
        yield s
        s.rollback()


SYSADMIN = Principal(user_id=0, username="root", is_sysadmin=True)
PUBLIC = "nederbord befolkning luft olyckor".split()  # newest update first


def names(session: Session, principal: Principal = ANONYMOUS, **kwargs: Any) -> list[str]:
    result = search_datasets(session, principal=principal, **kwargs)
    assert result.count >= len(result.datasets)
    return [d.name for d in result.datasets]


def counts(spec: str) -> list[FacetCount]:
    """``"a:2 b:1"`` -> facet counts."""
    return [FacetCount(v, int(n)) for v, n in (item.split(":") for item in spec.split())]


# --- visibility -----------------------------------------------------------------------------


def test_anonymous_sees_only_public(session: Session) -> None:
    result = search_datasets(session, principal=ANONYMOUS)
    assert [d.name for d in result.datasets] == PUBLIC
    assert result.count == 4
    assert result.facets["visibility"] == counts("public:4")


def test_member_sees_own_private_but_not_other_organisations(
    session: Session, corpus: Corpus
) -> None:
    seen = set(names(session, corpus.alice))
    assert seen == {"luft", "nederbord", "intern", "befolkning", "skolor", "floden", "olyckor"}


def test_partner_sees_restricted_and_partner_metadata(session: Session, corpus: Corpus) -> None:
    assert set(names(session, corpus.bob)) == {*PUBLIC, "skolor", "floden"}
    assert names(session, corpus.bob, q="skolor") == ["skolor"]
    assert names(session, ANONYMOUS, q="skolor") == []
    assert search_datasets(session, principal=SYSADMIN).count == 8


# --- full text ------------------------------------------------------------------------------


def test_title_match_ranks_before_description_match(session: Session) -> None:
    # nederbord is the more recently updated, so only the rank puts luft first.
    assert names(session, q="lufttemperatur") == ["luft", "nederbord"]


def test_prefix_search_for_type_ahead(session: Session) -> None:
    assert names(session, q="luftt") == ["luft", "nederbord"]
    assert set(names(session, SYSADMIN, q="trafik")) == {"floden", "olyckor"}
    assert names(session, q="per dyg") == ["nederbord"]
    assert names(session, q="luftt borås") == []  # only the last word is a prefix


@pytest.mark.parametrize("q", ["borås", "BORÅS", "boras", "Borås", "bora\u030as"])
def test_swedish_letters_fold_on_both_engines(session: Session, q: str) -> None:
    # The title match first, then Borås Stad's public dataset (organisation title).
    assert names(session, q=q) == ["luft", "befolkning"]


def test_words_in_description_tags_and_organisation(session: Session) -> None:
    assert names(session, q="timvärden mätstationer") == ["luft"]
    assert names(session, q="MÄNGD NEDERBÖRD") == ["nederbord"]
    assert names(session, q="temperatur") == ["luft"]
    assert set(names(session, q="smhi klimat")) == {"nederbord", "luft"}


HOSTILE = [
    "'\"; DROP TABLE datasets; --", "NEAR(a b)", "title:x", "a OR b", "((", "*", '"unbalanced',
    "'", "--", ")", ":", "^", "-", "\x00", "a\x00b", "x" * 5000, "ord " * 500, "!!! ??? ...",
    "lufttemperatur AND NOT", "OR", "AND", "NOT", "NEAR", '"" "', "\\", "%", "_", "$1", "{}",
    "lufttemperatur*", "-lufttemperatur", "^lufttemperatur", "lufttemperatur:*", "a'b", "ø",
]  # fmt: skip


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_raise(session: Session, q: str) -> None:
    result = search_datasets(session, principal=ANONYMOUS, q=q)
    assert result.count == len(result.datasets) <= 4
    assert session.scalar(select(func.count()).select_from(Dataset)) == 8


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("'\"; DROP TABLE datasets; --", []),
        ("NEAR(a b)", []),
        ("title:lufttemperatur", []),  # no column filters: "title" is just a word
        ("lufttemperatur OR foo", []),  # no operators: "or" is a word
        ("((", PUBLIC),  # no words at all: no full-text condition
        ("*", PUBLIC),
        ('"lufttemperatur', ["luft", "nederbord"]),
        ("-lufttemperatur", ["luft", "nederbord"]),  # no NOT either
        ("lufttemperatur:*", ["luft", "nederbord"]),
    ],
)
def test_hostile_queries_mean_their_words(session: Session, q: str, expected: list[str]) -> None:
    assert names(session, q=q) == expected


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tags": ["klimat"]}, "luft nederbord"),
        ({"tags": ["klimat", "trafik"]}, "luft nederbord olyckor"),
        ({"tags": ["nope"]}, ""),
        ({"tags": ["kli\x00mat"]}, ""),
        ({"themes": ["transport"]}, "olyckor"),
        ({"organisations": ["smhi", "trafikverket"]}, "luft nederbord olyckor"),
        ({"licences": ["cc-by-4.0"]}, "luft befolkning olyckor"),
        ({"licences": ["CC0-1.0", "CC-BY-4.0"]}, "luft nederbord befolkning olyckor"),
        ({"formats": ["parquet"]}, "luft"),  # befolkning's parquet is only in a draft
        ({"formats": ["CSV"]}, "nederbord olyckor"),
        ({"personal_data": True}, "olyckor"),
        ({"personal_data": False}, "luft nederbord befolkning"),
        ({"organisations": ["smhi"], "tags": ["klimat"], "licences": ["CC0-1.0"]}, "nederbord"),
        ({"q": "trafik", "personal_data": True, "formats": ["csv"]}, "olyckor"),
        ({"q": "lufttemperatur", "organisations": ["boras-stad"]}, ""),
    ],
)
def test_filters_or_within_and_across(
    session: Session, filters: dict[str, Any], expected: str
) -> None:
    assert set(names(session, **filters)) == set(expected.split())


def test_visibility_filter(session: Session, corpus: Corpus) -> None:
    assert set(names(session, SYSADMIN, visibility=[Visibility.private])) == {"intern", "budget"}
    assert names(session, corpus.alice, visibility=[Visibility.private]) == ["intern"]
    assert names(session, ANONYMOUS, visibility=[Visibility.restricted]) == []
    both = names(session, corpus.bob, visibility=["partners", "restricted"])
    assert set(both) == {"skolor", "floden"}


# --- facets ---------------------------------------------------------------------------------


def test_facet_counts(session: Session) -> None:
    facets = search_datasets(session, principal=SYSADMIN).facets
    assert facets == {
        "organisation": counts("boras-stad:3 smhi:3 trafikverket:2"),
        "tag": counts(
            "klimat:3 trafik:2 befolkning:1 internt:1 olyckor:1 temperatur:1 utbildning:1"
        ),
        "theme": counts("transport:2 education:1 environment:1 society:1"),
        "licence": counts("CC-BY-4.0:4 CC0-1.0:2"),
        # Only files of published versions count, and a dataset once per format.
        "format": counts("csv:3 parquet:2"),
        "visibility": counts("public:4 private:2 partners:1 restricted:1"),
        "personal_data": counts("false:5 true:3"),
        # No dataset here has a quality report yet; tests/ingest covers the filled facet.
        "quality": [],
    }


def test_facets_drill_down_ignore_their_own_filter(session: Session) -> None:
    result = search_datasets(session, principal=ANONYMOUS, tags=["klimat"], q="lufttemperatur")
    assert result.count == 2
    # The tag facet ignores tag=klimat (but not q): all tags of the lufttemperatur matches.
    assert result.facets["tag"] == counts("klimat:2 temperatur:1")
    assert result.facets["organisation"] == counts("smhi:2")
    assert result.facets["licence"] == counts("CC-BY-4.0:1 CC0-1.0:1")

    only: dict[str, Any] = {"organisations": ["smhi"], "licences": ["cc0-1.0"]}
    facets = search_datasets(session, principal=ANONYMOUS, **only).facets
    assert facets["organisation"] == counts("smhi:1")  # the public CC0 datasets
    assert facets["licence"] == counts("CC-BY-4.0:1 CC0-1.0:1")  # smhi's public datasets
    assert facets["tag"] == counts("klimat:1")
    assert facets["format"] == counts("csv:1")


def test_facets_respect_visibility(session: Session, corpus: Corpus) -> None:
    def tags(principal: Principal) -> list[FacetCount]:
        facets = search_datasets(session, principal=principal).facets["tag"]
        return [f for f in facets if f.value in {"klimat", "internt"}]

    assert tags(ANONYMOUS) == counts("klimat:2")
    assert tags(corpus.alice) == counts("klimat:3 internt:1")
    assert tags(corpus.bob) == counts("klimat:2")


# --- paging and sorting ---------------------------------------------------------------------


def test_pagination_and_count(session: Session) -> None:
    everything = names(session, SYSADMIN, sort="title")
    pages = [
        search_datasets(session, principal=SYSADMIN, sort="title", offset=o, limit=3)
        for o in (0, 3, 6, 9)
    ]
    assert [r.count for r in pages] == [8, 8, 8, 8]
    assert [len(r.datasets) for r in pages] == [3, 3, 2, 0]
    assert [d.name for r in pages for d in r.datasets] == everything
    assert search_datasets(session, principal=SYSADMIN, limit=0).datasets == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", "befolkning budget intern luft nederbord skolor floden olyckor"),
        ("updated", "nederbord intern befolkning skolor luft budget floden olyckor"),
        ("created", "olyckor floden budget luft skolor befolkning intern nederbord"),
        ("relevance", "nederbord intern befolkning skolor luft budget floden olyckor"),
    ],
)
def test_sort_orders(session: Session, sort: str, expected: str) -> None:
    assert names(session, SYSADMIN, sort=sort) == expected.split()


def test_sort_with_q(session: Session) -> None:
    assert names(session, q="lufttemperatur", sort="updated") == ["nederbord", "luft"]
    assert names(session, q="lufttemperatur", sort="title") == ["luft", "nederbord"]


def test_page_loads_relations_eagerly(session: Session) -> None:
    luft = search_datasets(session, principal=SYSADMIN, q="lufttemperatur").datasets[0]
    assert {"organisation", "licence", "tag_rows", "theme_rows"} <= set(luft.__dict__)
    assert luft.organisation.name == "smhi" and luft.tags == ["klimat", "temperatur"]
    assert luft.licence is not None and luft.licence.id == "CC-BY-4.0"


@pytest.mark.parametrize(
    "bad", [{"offset": -1}, {"limit": -1}, {"limit": 100_000}, {"sort": "random"}]
)
def test_bad_paging_is_invalid_input(session: Session, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        search_datasets(session, principal=ANONYMOUS, **bad)


# --- keeping the index current --------------------------------------------------------------


def test_reindex_after_update_and_remove(session: Session, corpus: Corpus) -> None:
    luft = session.get_one(Dataset, corpus.ids["luft"])
    luft.title = "Vindhastighet"
    luft.tag_rows = [DatasetTag(tag="vind")]
    index_dataset(session, luft)
    assert names(session, q="lufttemperatur") == ["nederbord"]
    assert names(session, q="vindhast") == ["luft"]
    assert names(session, q="vind", tags=["vind"]) == ["luft"]
    remove_dataset(session, luft.id)
    assert names(session, q="vindhast") == []


def test_deleting_a_dataset_removes_it_from_the_index(session: Session, corpus: Corpus) -> None:
    session.execute(delete(Dataset).where(Dataset.id == corpus.ids["olyckor"]))
    assert names(session, q="trafikolyckor") == []
    key = "rowid" if session.get_bind().dialect.name == "sqlite" else "dataset_id"
    left = text(f"SELECT count(*) FROM dataset_fts WHERE {key} = :id")
    assert session.scalar(left, {"id": corpus.ids["olyckor"]}) == 0


def test_rebuild_index(session: Session) -> None:
    assert rebuild_index(session) == 8
    assert names(session, q="luftt") == ["luft", "nederbord"]
    assert names(session, q="borås") == ["luft", "befolkning"]
