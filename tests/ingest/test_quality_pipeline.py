"""Validation in the pipeline: reports kept with each version, personal data held for an
admin's review, publisher suites checked on upload and applied at ingest, key columns,
re-validation, and the quality summary in listings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalog.models import Role
from tests.factories import auth, make_org, make_token, make_user
from tests.ingest.test_pipeline import drain, ingest, job, upload

BASE = "/api/v1/datasets/smhi/temp"
CSV = "id;kommun;temperatur\n1;Borås;6,5\n2;Göteborg;8,1\n3;Kiruna;-1,2\n".encode()


def personnummer(birth: str, serial: str) -> str:
    """A syntactically valid personnummer (Luhn check digit) for YYMMDD + 3 digits."""
    digits = birth + serial
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return f"{birth}-{serial}{(10 - total % 10) % 10}"


@pytest.fixture
def token(session: Session) -> str:
    org = make_org(session, "smhi")
    return make_token(session, make_user(session, "alice", org=org, role=Role.admin))


def _reports(client: TestClient, token: str, number: int) -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/versions/{number}/reports", headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_reports_are_kept_and_summarised(app: FastAPI, client: TestClient, token: str) -> None:
    queued = ingest(
        client,
        token,
        upload(client, token, CSV),
        licence="CC0-1.0",
        visibility="public",
        key_columns=["id"],
    )
    drain(app)
    done = job(client, token, queued["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["validation"]["decision"] == "publish"
    reports = _reports(client, token, 1)
    assert sorted(r["kind"] for r in reports) == ["personal-data", "quality"]
    quality = next(r for r in reports if r["kind"] == "quality")
    assert quality["decision"] == "publish" and quality["summary"]["failed"] == 0
    full = client.get(f"{BASE}/versions/1/reports/{quality['id']}").json()
    types = {r["expectation"] for r in full["report"]["results"]}
    assert {"expect_table_row_count_to_be_between", "expect_column_values_to_be_unique"} <= types
    page = client.get(f"{BASE}/versions/1/reports/{quality['id']}/html")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "expect_column_values_to_be_unique" in page.text
    listed = client.get("/api/v1/datasets").json()["data"][0]
    assert listed["quality"] == {"status": "passed", "score": 100.0}
    found = client.get("/api/v1/datasets", params={"quality": "passed"}).json()
    assert found["count"] == 1 and found["facets"]["quality"] == [{"value": "passed", "count": 1}]
    assert client.get("/api/v1/datasets", params={"quality": "failed"}).json()["count"] == 0
    assert client.get("/api/v1/datasets", params={"quality": "great"}).status_code == 422


def test_duplicate_keys_reject_the_version(app: FastAPI, client: TestClient, token: str) -> None:
    duplicated = CSV + b"3;Kiruna;-2,0\n"
    queued = ingest(
        client, token, upload(client, token, duplicated), licence="CC0-1.0", key_columns=["id"]
    )
    drain(app)
    failed = job(client, token, queued["id"])
    assert failed["state"] == "failed"
    assert failed["error"]["problem"] == "validation-failed"
    assert "expect_column_values_to_be_unique on column 'id'" in failed["error"]["message"]
    version = client.get(f"{BASE}/versions/1", headers=auth(token)).json()
    assert version["state"] == "rejected"
    assert [r["decision"] for r in _reports(client, token, 1) if r["kind"] == "quality"] == [
        "reject"
    ]


def _with_personnummer() -> bytes:
    rows = [f"{i};{personnummer(f'8{i}0101', f'{i:02d}4')};Kund {i}" for i in range(1, 6)]
    return ("id;personnr;namn\n" + "\n".join(rows) + "\n").encode()


def test_personal_data_waits_for_review(
    app: FastAPI, client: TestClient, token: str, session: Session
) -> None:
    data = _with_personnummer()
    queued = ingest(
        client, token, upload(client, token, data), licence="CC0-1.0", visibility="public"
    )
    drain(app)
    done = job(client, token, queued["id"])
    assert done["state"] == "succeeded"
    assert done["result"]["state"] == "needs-review"
    assert done["result"]["validation"]["decision"] == "needs-review"
    assert client.get(f"{BASE}/versions/1").status_code == 404  # not public while held
    personal = next(r for r in _reports(client, token, 1) if r["kind"] == "personal-data")
    report = client.get(f"{BASE}/versions/1/reports/{personal['id']}", headers=auth(token))
    assert personnummer("810101", "014") not in report.text  # examples are masked
    assert "personnummer" in report.text

    # A publisher may not decide; an admin accepts, and the version is published.
    publisher = make_token(session, make_user(session, "bo", org=None))
    assert (
        client.post(
            f"{BASE}/versions/1/review",
            headers=auth(publisher),
            json={"decision": "accept", "reason": "ok"},
        ).status_code
        == 404
    )
    accepted = client.post(
        f"{BASE}/versions/1/review",
        headers=auth(token),
        json={"decision": "accept", "reason": "consent on file"},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "published"
    assert client.get(BASE).json()["latest_version"]["number"] == 1
    again = client.post(
        f"{BASE}/versions/1/review", headers=auth(token), json={"decision": "reject", "reason": "x"}
    )
    assert again.status_code == 409


def test_declared_personal_data_publishes_and_reject_in_review(
    app: FastAPI,
    client: TestClient,
    token: str,
) -> None:
    data = _with_personnummer()
    client.post(
        "/api/v1/datasets",
        headers=auth(token),
        json={
            "organisation": "smhi",
            "name": "temp",
            "title": "Kunder",
            "contains_personal_data": True,
            "personal_data_legal_basis": "GDPR 6.1(a), consent",
        },
    )
    queued = ingest(client, token, upload(client, token, data), licence="CC0-1.0")
    drain(app)
    assert job(client, token, queued["id"])["result"]["state"] == "published"

    client.patch(BASE, headers=auth(token), json={"contains_personal_data": False})
    second = ingest(client, token, upload(client, token, data))
    drain(app)
    assert job(client, token, second["id"])["result"]["state"] == "needs-review"
    rejected = client.post(
        f"{BASE}/versions/2/review",
        headers=auth(token),
        json={"decision": "reject", "reason": "no legal basis"},
    )
    assert rejected.json()["state"] == "rejected"
    assert "no legal basis" in rejected.json()["state_reason"]


SUITE = """
expectations:
  - column: temperatur
    between: [-50, 50]
  - column: kommun
    not_null: true
"""


def test_publisher_suite_is_checked_on_upload_and_applied(
    app: FastAPI,
    client: TestClient,
    token: str,
) -> None:
    ingest(client, token, upload(client, token, CSV), licence="CC0-1.0", visibility="public")
    drain(app)
    yaml = {"Content-Type": "application/yaml", **auth(token)}
    stored = client.put(f"{BASE}/suite", headers=yaml, content=SUITE)
    assert stored.status_code == 201, stored.text
    assert (stored.json()["version"], stored.json()["expectations"]) == (1, 2)
    assert client.get(f"{BASE}/suite").json()["version"] == 1

    for bad, fragment in [
        ("expectations:\n  - column: nope\n    not_null: true\n", "nope"),
        (
            '{"name": "x", "expectations": [{"type": "expect_colum_values_to_be_unique", '
            '"kwargs": {"column": "id"}}]}',
            "expect_colum_values_to_be_unique",
        ),
        ("expectations:\n  - column: kommun\n    matches: '(a+)+$'\n", "regex"),
        ("expectations: [", "YAML"),
    ]:
        kind = "application/json" if bad.startswith("{") else "application/yaml"
        response = client.put(
            f"{BASE}/suite", headers={**auth(token), "Content-Type": kind}, content=bad
        )
        assert response.status_code == 422, (bad, response.text)
        assert fragment.lower() in response.text.lower(), response.text
    assert client.get(f"{BASE}/suite").json()["version"] == 1  # nothing stored

    hot = "id;kommun;temperatur\n1;Borås;65,0\n2;Göteborg;8,1\n3;Kiruna;-1,2\n".encode()
    queued = ingest(client, token, upload(client, token, hot))
    drain(app)
    failed = job(client, token, queued["id"])
    assert failed["state"] == "failed", failed
    assert (
        "expect_column_values_to_be_between on column 'temperatur'" in (failed["error"]["message"])
    )


def test_revalidation_adds_reports(app: FastAPI, client: TestClient, token: str) -> None:
    ingest(client, token, upload(client, token, CSV), licence="CC0-1.0", visibility="public")
    drain(app)
    before = len(_reports(client, token, 1))
    client.put(
        f"{BASE}/suite",
        headers={"Content-Type": "application/yaml", **auth(token)},
        content="expectations:\n  - column: temperatur\n    between: [0, 50]\n"
        "    severity: warning\n",
    )
    queued = client.post(f"{BASE}/versions/1/validate", headers=auth(token))
    assert queued.status_code == 202, queued.text
    drain(app)
    assert job(client, token, queued.json()["id"])["state"] == "succeeded"
    reports = _reports(client, token, 1)
    assert len(reports) == before + 2
    quality = [r for r in reports if r["kind"] == "quality"]
    first, newest = quality[0], quality[-1]
    assert newest["decision"] == "publish-with-warnings" and newest["suite_version"] == 1
    # At ingest the profile came from normalising's statistics scan; re-validation scans
    # the stored file for it. The two agree.
    profiles = [
        client.get(f"{BASE}/versions/1/reports/{r['id']}").json()["report"]["profile"]
        for r in (first, newest)
    ]
    assert profiles[0] == profiles[1] and profiles[0]["row_count"] == 3
    assert client.get("/api/v1/datasets").json()["data"][0]["quality"]["status"] == "warnings"
