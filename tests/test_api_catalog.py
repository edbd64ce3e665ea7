"""Behaviour of the catalog API: organisations, members, datasets, licences, agreements."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Dataset, Role
from tests.factories import auth, make_org, make_token, make_user


def test_sysadmin_creates_and_admin_updates_an_organisation(
    client: TestClient, session: Session
) -> None:
    root = make_token(session, make_user(session, "root", sysadmin=True))
    created = client.post(
        "/api/v1/organisations",
        headers=auth(root),
        json={
            "name": "region-vg",
            "title": "Västra Götalandsregionen",
            "homepage": "https://example.org/vgr",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "Västra Götalandsregionen"
    org = client.get("/api/v1/organisations/region-vg").json()
    assert org["homepage"] == "https://example.org/vgr"

    admin = make_user(session, "anna", org=None)
    assert (
        client.put(
            "/api/v1/organisations/region-vg/members/anna",
            headers=auth(root),
            json={"role": "admin"},
        ).status_code
        == 200
    )
    token = make_token(session, admin)
    patched = client.patch(
        "/api/v1/organisations/region-vg",
        headers=auth(token),
        json={"description": "Hälso- och sjukvård"},
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "Hälso- och sjukvård"
    members = client.get("/api/v1/organisations/region-vg/members", headers=auth(token)).json()
    assert members == {"data": [{"username": "anna", "role": "admin"}], "count": 1}
    listing = client.get("/api/v1/organisations").json()
    assert [o["name"] for o in listing["data"]] == ["region-vg"] and listing["count"] == 1


def test_members_can_be_removed(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    admin = make_token(session, make_user(session, "anna", org=org, role=Role.admin))
    make_user(session, "bo", org=org, role=Role.member)
    assert (
        client.delete("/api/v1/organisations/smhi/members/bo", headers=auth(admin)).status_code
        == 204
    )
    members = client.get("/api/v1/organisations/smhi/members", headers=auth(admin)).json()
    assert [m["username"] for m in members["data"]] == ["anna"]


def _dataset_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "organisation": "smhi",
        "name": "lufttemperatur-boras",
        "title": "Lufttemperatur Borås 1961–2015",
        "description": "Timvärden från station **Borås**.",
        "tags": ["väder", "temperatur"],
        "themes": ["environment"],
        "visibility": "public",
        "licence": "cc-by-4.0",
        "source": "SMHI öppna data",
        "temporal_start": "1961-01-01",
        "temporal_end": "2015-12-31",
        "spatial_coverage": "Borås, Sweden",
    }
    body.update(extra)
    return body


def test_publisher_creates_reads_and_updates_a_dataset(
    client: TestClient, session: Session
) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org))
    created = client.post("/api/v1/datasets", headers=auth(token), json=_dataset_body())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["licence"]["id"] == "CC-BY-4.0"  # canonical SPDX id
    assert body["tags"] == ["temperatur", "väder"]
    assert body["provenance"]["temporal_start"] == "1961-01-01"
    assert body["latest_version"] is None

    read = client.get("/api/v1/datasets/smhi/lufttemperatur-boras").json()
    assert read["title"] == "Lufttemperatur Borås 1961–2015"

    patched = client.patch(
        "/api/v1/datasets/smhi/lufttemperatur-boras",
        headers=auth(token),
        json={"tags": ["klimat"], "visibility": "partners"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tags"] == ["klimat"]
    # Now partners-only: anonymous callers no longer see it, and are not told it exists.
    assert client.get("/api/v1/datasets/smhi/lufttemperatur-boras").status_code == 404


def test_personal_data_needs_a_legal_basis(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org))
    response = client.post(
        "/api/v1/datasets", headers=auth(token), json=_dataset_body(contains_personal_data=True)
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "personal_data_legal_basis"
    ok = client.post(
        "/api/v1/datasets",
        headers=auth(token),
        json=_dataset_body(
            contains_personal_data=True, personal_data_legal_basis="GDPR art. 6.1(e)"
        ),
    )
    assert ok.status_code == 201


def test_invalid_references_are_refused_without_a_row(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org))
    cases = [
        (_dataset_body(licence="NOT-A-LICENCE"), "licence"),
        (_dataset_body(themes=["weather"]), "themes"),
        (_dataset_body(temporal_end="1900-01-01"), "temporal_end"),
        (_dataset_body(agreement="no-such-agreement"), "agreement"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/datasets", headers=auth(token), json=body)
        assert response.status_code in {404, 422}, (field, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    session.expire_all()
    assert session.scalar(select(func.count(Dataset.id))) == 0


def test_licences_list_and_read(client: TestClient) -> None:
    listing = client.get("/api/v1/licences", params={"open_data": True, "page_size": 100})
    ids = {row["id"] for row in listing.json()["data"]}
    assert {"CC-BY-4.0", "CC0-1.0", "ODbL-1.0"} <= ids
    assert "MIT" not in ids
    mit = client.get("/api/v1/licences/mit").json()
    assert mit["id"] == "MIT" and mit["osi_approved"] is True
    assert client.get("/api/v1/licences/NOPE-9").status_code == 404


def test_agreements_are_versioned_and_usable_as_licence(
    client: TestClient, session: Session
) -> None:
    org = make_org(session, "smhi")
    admin = make_token(session, make_user(session, "anna", org=org, role=Role.admin))
    first = client.post(
        "/api/v1/organisations/smhi/agreements",
        headers=auth(admin),
        json={"name": "dsa", "title": "Avtal", "text": "Version ett."},
    )
    second = client.post(
        "/api/v1/organisations/smhi/agreements",
        headers=auth(admin),
        json={"name": "dsa", "title": "Avtal", "text": "Version två."},
    )
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert client.get("/api/v1/organisations/smhi/agreements/dsa").json()["text"] == "Version två."
    assert (
        client.get("/api/v1/organisations/smhi/agreements/dsa", params={"version": 1}).json()[
            "text"
        ]
        == "Version ett."
    )
    created = client.post(
        "/api/v1/datasets", headers=auth(admin), json=_dataset_body(licence=None, agreement="dsa")
    )
    assert created.status_code == 201
    assert created.json()["agreement"] == "dsa"


def test_me(client: TestClient, session: Session) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "alice", org=org))
    me = client.get("/api/v1/users/me", headers=auth(token)).json()
    assert me["username"] == "alice"
    assert me["memberships"] == [{"organisation": "smhi", "role": "publisher"}]


def test_expired_and_revoked_tokens_are_refused(client: TestClient, session: Session) -> None:
    from datetime import timedelta

    from access.tokens import create_token, revoke_token

    user = make_user(session, "alice")
    live, live_secret = create_token(session, user=user, expires_in=timedelta(days=30))
    _, expired_secret = create_token(session, user=user, expires_in=timedelta(seconds=-1))
    session.commit()
    assert client.get("/api/v1/users/me", headers=auth(live_secret)).status_code == 200
    expired = client.get("/api/v1/users/me", headers=auth(expired_secret))
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "the token has expired"
    revoke_token(session, token=live)
    session.commit()
    assert client.get("/api/v1/users/me", headers=auth(live_secret)).status_code == 401


def test_renaming_an_organisation_re_indexes_its_datasets(
    client: TestClient, session: Session
) -> None:
    org = make_org(session, "smhi")
    token = make_token(session, make_user(session, "anna", org=org, role=Role.admin))
    assert client.post("/api/v1/datasets", headers=auth(token), json=_dataset_body()).status_code
    assert client.get("/api/v1/datasets", params={"q": "meteorologiska"}).json()["count"] == 0
    patched = client.patch(
        "/api/v1/organisations/smhi",
        headers=auth(token),
        json={"title": "Sveriges meteorologiska och hydrologiska institut"},
    )
    assert patched.status_code == 200, patched.text
    found = client.get("/api/v1/datasets", params={"q": "meteorologiska"}).json()
    assert [d["name"] for d in found["data"]] == ["lufttemperatur-boras"]
