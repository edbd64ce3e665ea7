"""The search route's bodies: assembled from per-dataset bodies kept per snapshot
(``catalog.search.card_cache``), byte for byte what serialising the whole model gives."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Dataset, Role
from catalog.routes.datasets import with_data
from catalog.schemas import DatasetsPublic
from catalog.search.card_cache import CardCache
from catalog.search.cards import dataset_cards
from tests.factories import auth, make_org, make_token, make_user

FACETS = {"tag": [{"value": "väder", "count": 2}], "organisation": []}


def _dataset(name: str, title: str) -> dict[str, object]:
    return {
        "organisation": "smhi", "name": name, "title": title, "description": "Mätningar",
        "licence": "CC-BY-4.0", "tags": ["väder", "klimat"], "visibility": "public",
    }  # fmt: skip


def test_with_data_equals_serialising_the_whole_model(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org, role=Role.publisher))
    for i, title in enumerate(["Lufttemperatur", 'Nederbörd "dygn"', "Vind"]):
        created = client.post(
            "/api/v1/datasets", headers=auth(token), json=_dataset(f"d{i}", title)
        )
        assert created.status_code == 201, created.text
    ids = session.scalars(select(Dataset.id).order_by(Dataset.id)).all()
    cards = dataset_cards(session, list(ids))
    for some in (cards[:0], cards[:1], cards):
        whole = DatasetsPublic(data=some, count=7, page=2, page_size=3, facets=FACETS)
        head = DatasetsPublic(data=[], count=7, page=2, page_size=3, facets=FACETS)
        parts = [card.model_dump_json().encode() for card in some]
        assert with_data(head.model_dump_json().encode(), parts) == whole.model_dump_json().encode()


def test_search_bodies_follow_writes_over_http(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org, role=Role.admin))
    created = client.post("/api/v1/datasets", headers=auth(token), json=_dataset("luft", "Luft"))
    assert created.status_code == 201, created.text
    search = {"q": "luft"}
    first = client.get("/api/v1/datasets", params=search)
    assert first.status_code == 200
    assert first.json()["data"][0]["tags"] == ["klimat", "väder"]
    ids = session.scalars(select(Dataset.id)).all()
    expected = DatasetsPublic.model_validate(
        {**first.json(), "data": [c.model_dump() for c in dataset_cards(session, list(ids))]}
    )
    assert first.content == expected.model_dump_json().encode()
    # The second search takes the body from the cache; writes through the API replace it.
    assert client.get("/api/v1/datasets", params=search).content == first.content
    patched = client.patch(
        "/api/v1/datasets/smhi/luft", headers=auth(token), json={"tags": ["luft"]}
    )
    assert patched.status_code == 200, patched.text
    assert client.get("/api/v1/datasets", params=search).json()["data"][0]["tags"] == ["luft"]
    renamed = client.patch(
        "/api/v1/organisations/smhi", headers=auth(token), json={"title": "SMHI"}
    )
    assert renamed.status_code == 200, renamed.text
    body = json.loads(client.get("/api/v1/datasets", params=search).content)
    assert body["data"][0]["organisation"] == {"name": "smhi", "title": "SMHI"}


def test_card_cache_keeps_the_most_recently_used() -> None:
    cache = CardCache(capacity=2)
    cache.put_many({1: b"1", 2: b"2"})
    assert cache.get_many([1]) == {1: b"1"}  # 1 is now the most recently used
    cache.put_many({3: b"3"})
    assert cache.get_many([1, 2, 3]) == {1: b"1", 3: b"3"}
    assert len(cache) == 2


def test_card_cache_inherits_all_but_the_changed() -> None:
    old = CardCache(capacity=10)
    old.put_many({1: b"1", 2: b"2", 3: b"3"})
    new = CardCache(capacity=2)
    new.inherit(old, changed={2})
    assert new.get_many([1, 2, 3]) == {1: b"1", 3: b"3"}
    new.inherit(old, changed=set())  # more than fit: the most recently used are kept
    assert new.get_many([1, 2, 3]) == {2: b"2", 3: b"3"}


def test_card_cache_of_no_capacity_keeps_nothing() -> None:
    cache = CardCache(capacity=0)
    cache.put_many({1: b"1"})
    old = CardCache()
    old.put_many({1: b"1"})
    cache.inherit(old, changed=set())
    assert cache.get_many([1]) == {} and len(cache) == 0
