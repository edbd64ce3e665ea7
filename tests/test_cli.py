"""The `datahamn` command: real effects of the operator commands, one-line errors, the client
commands against the API, and the installed console script end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from access.models import ApiToken
from catalog.models import Membership, Organisation, Role, User, Visibility
from datahamn.cli import _http, app
from datahamn.cli import datasets as datasets_cli
from datahamn.cli._errors import CliError
from datahamn.cli.datasets import VisibilityChoice
from datahamn.cli.users import RoleChoice
from datahamn.demo import DATASETS, load_demo
from tests.factories import auth, make_token
from tests.support.console import SCRIPT, free_port, wait_ready

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
# Variables the developer's shell may have set that would change what the commands do.
_CLEARED = ("DATAHAMN_URL", "DATAHAMN_TOKEN", "DATAHAMN_TOKEN_EXPIRES_IN", "DATAHAMN_LOG_LEVEL")


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str | None]:
    """The server commands' settings: the test database, a fresh home and object store."""
    return {
        **dict.fromkeys(_CLEARED),
        "DATAHAMN_ENVIRONMENT": "test",
        "DATAHAMN_HOME": str(tmp_path / "home"),
        "DATAHAMN_DATABASE_URL": db_url,
        "DATAHAMN_STORAGE_URL": (tmp_path / "objects").as_uri(),
        "DATAHAMN_SECRET_KEY": "test-secret-key",
    }


@pytest.fixture
def factory(app: FastAPI) -> sessionmaker[Session]:
    result: sessionmaker[Session] = app.state.session_factory
    return result


def run(env: dict[str, str | None], *args: str) -> Any:
    return runner.invoke(app, list(args), env=env)


def assert_one_line_error(result: Any, *fragments: str) -> None:
    """Failed with exit 1 and exactly one `error: …` line on stderr, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


# Help and packaging ---------------------------------------------------------------------


def test_every_help_shows_an_example() -> None:
    paths = list(_commands(typer.main.get_command(app)))
    assert ("datasets", "show") in paths and ("tokens", "create") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.stdout, f"`datahamn {' '.join(path)} --help` has no example"


def test_client_commands_import_no_server_code() -> None:
    # A fresh interpreter: this one has imported the server stack for the other tests.
    # (pydantic is not in the list: typer itself depends on it.)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from datahamn.cli import app\n"
        "r = CliRunner().invoke(app, ['datasets', 'list', '--url', 'http://127.0.0.1:9'])\n"
        "assert r.exit_code == 1 and 'cannot reach' in r.stderr, r.output\n"
        "heavy = {'fastapi', 'sqlalchemy', 'alembic', 'uvicorn', 'minio', 'pyarrow',\n"
        "         'catalog', 'access'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_choices_match_the_models() -> None:
    # Repeated in the CLI so `--help` needs no SQLAlchemy; they must not drift.
    assert [r.value for r in RoleChoice] == [r.value for r in Role]
    assert [v.value for v in VisibilityChoice] == [v.value for v in Visibility]


# Server commands ----------------------------------------------------------------------


def test_db_upgrade_creates_home_and_is_repeatable(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    env = {
        **dict.fromkeys(_CLEARED),
        "DATAHAMN_HOME": str(home),
        "DATAHAMN_DATABASE_URL": None,
        "DATAHAMN_STORAGE_URL": None,
    }
    for _ in range(2):
        result = run(env, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "newest schema" in result.stdout and "SPDX licences" in result.stdout
    assert (home / "datahamn.db").is_file()


def test_operator_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    env = {**dict.fromkeys(_CLEARED), "DATAHAMN_HOME": str(tmp_path), "DATAHAMN_DATABASE_URL": None}
    result = run(env, "orgs", "list")
    assert_one_line_error(result, "is empty", "datahamn db upgrade")


def test_orgs_create_and_list(env: dict[str, str | None], factory: sessionmaker[Session]) -> None:
    result = run(
        env,
        "orgs",
        "create",
        "norrvik-vader",
        "--title",
        "Norrviks väderkontor",
        "--description",
        "Väder.",
        "--homepage",
        "https://vader.example.org",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "created organisation norrvik-vader\n"
    with factory() as session:
        org = session.scalars(select(Organisation)).one()
        assert (org.name, org.title, org.description, org.homepage) == (
            "norrvik-vader",
            "Norrviks väderkontor",
            "Väder.",
            "https://vader.example.org",
        )

    listed = run(env, "orgs", "list")
    assert listed.exit_code == 0 and "norrvik-vader" in listed.stdout

    duplicate = run(env, "orgs", "create", "norrvik-vader", "--title", "Again")
    assert_one_line_error(duplicate, "organisation 'norrvik-vader' already exists")


@pytest.mark.parametrize("name", ["Norrvik", "a", "-norrvik", "norrvik-", "väder", "x" * 101])
def test_orgs_create_refuses_what_the_api_refuses(tmp_path: Path, name: str) -> None:
    # Checked before the database is opened: no settings needed.
    env = {**dict.fromkeys(_CLEARED), "DATAHAMN_HOME": str(tmp_path)}
    result = run(env, "orgs", "create", "--title", "T", "--", name)
    assert_one_line_error(result, "invalid organisation name", "lower-case")


def test_orgs_create_validates_the_homepage(env: dict[str, str | None]) -> None:
    result = run(env, "orgs", "create", "norrvik", "--title", "T", "--homepage", "vader.se")
    assert_one_line_error(result, "homepage")


def test_users_create_with_a_role(
    env: dict[str, str | None], factory: sessionmaker[Session]
) -> None:
    assert run(env, "orgs", "create", "norrvik", "--title", "Norrvik").exit_code == 0
    result = run(
        env,
        "users",
        "create",
        "alice",
        "--email",
        "alice@example.org",
        "--org",
        "norrvik",
        "--role",
        "publisher",
        "--full-name",
        "Alice Åberg",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "created user alice, publisher of norrvik\n"
    admin = run(env, "users", "create", "root", "--email", "root@example.org", "--sysadmin")
    assert admin.exit_code == 0, admin.output
    with factory() as session:
        rows = session.execute(
            select(User.username, User.full_name, User.is_sysadmin, Membership.role)
            .outerjoin(Membership)
            .order_by(User.username)
        ).all()
    assert rows == [("alice", "Alice Åberg", False, Role.publisher), ("root", "", True, None)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Alice", "--email", "a@example.org"], "invalid username"),
        (["alice", "--email", "not-an-address"], "invalid e-mail address"),
        (["alice", "--email", "a@example.org", "--org", "nowhere"], "no organisation 'nowhere'"),
        (["alice", "--email", "a@example.org", "--role", "admin"], "--role needs --org"),
    ],
)
def test_users_create_errors(
    env: dict[str, str | None], factory: sessionmaker[Session], args: list[str], message: str
) -> None:
    assert_one_line_error(run(env, "users", "create", *args), message)
    with factory() as session:
        assert session.scalars(select(User)).all() == []  # nothing half-made


def test_users_create_duplicate(env: dict[str, str | None]) -> None:
    assert run(env, "users", "create", "alice", "--email", "a@example.org").exit_code == 0
    result = run(env, "users", "create", "alice", "--email", "b@example.org")
    assert_one_line_error(result, "user 'alice' already exists")


@pytest.mark.parametrize("expires_in", ["never", "30d"])
def test_token_is_printed_once_and_works_against_the_api(
    env: dict[str, str | None],
    client: TestClient,
    expires_in: str,
) -> None:
    assert run(env, "users", "create", "alice", "--email", "a@example.org").exit_code == 0

    result = run(env, "tokens", "create", "alice", "--name", "laptop", "--expires-in", expires_in)

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("dh_")
    assert "shown only this once" in result.stderr and token not in result.stderr
    expiry = "never expires" if expires_in == "never" else "expires 20"
    assert expiry in result.stderr
    me = client.get("/api/v1/users/me", headers=auth(token))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"


def test_tokens_list_and_revoke(env: dict[str, str | None], client: TestClient) -> None:
    assert run(env, "users", "create", "alice", "--email", "a@example.org").exit_code == 0
    tokens = [
        run(env, "tokens", "create", "alice", "--name", n, "--expires-in", "never").stdout.strip()
        for n in ("one", "two")
    ]

    listed = run(env, "tokens", "list", "alice")
    assert listed.exit_code == 0
    assert tokens[0][:9] in listed.stdout and tokens[0] not in listed.stdout

    revoked = run(env, "tokens", "revoke", "alice", "--prefix", tokens[0][:9])
    assert revoked.exit_code == 0 and revoked.stdout == "revoked 1 token of alice\n"
    assert client.get("/api/v1/users/me", headers=auth(tokens[0])).status_code == 401
    assert client.get("/api/v1/users/me", headers=auth(tokens[1])).status_code == 200

    assert_one_line_error(
        run(env, "tokens", "revoke", "alice", "--prefix", tokens[0][:9]), "no active token"
    )
    assert_one_line_error(run(env, "tokens", "revoke", "alice"), "exactly one of")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ghost"], "no user 'ghost'"),
        (["alice", "--expires-in", "soon"], "invalid duration 'soon'"),
        (["alice", "--expires-in", "0d"], "invalid duration '0d'"),
    ],
)
def test_tokens_create_errors(
    env: dict[str, str | None], factory: sessionmaker[Session], args: list[str], message: str
) -> None:
    assert run(env, "users", "create", "alice", "--email", "a@example.org").exit_code == 0
    result = run(env, "tokens", "create", *args)
    assert_one_line_error(result, message)
    assert result.stdout == ""
    with factory() as session:
        assert session.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"DATAHAMN_ENVIRONMENT": "production", "DATAHAMN_SECRET_KEY": None},
            "invalid settings: DATAHAMN_SECRET_KEY is the placeholder",
        ),
        (
            {"DATAHAMN_SIGNED_URL_MAX_SECONDS": "0"},
            "invalid settings: DATAHAMN_SIGNED_URL_MAX_SECONDS",
        ),
        ({"DATAHAMN_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}, "database: "),
        ({"DATAHAMN_STORAGE_URL": "ftp://files.example.org/x"}, "unknown scheme 'ftp'"),
    ],
)
def test_bad_settings_are_one_line(
    tmp_path: Path, variables: dict[str, str | None], message: str
) -> None:
    env: dict[str, str | None] = {
        **dict.fromkeys(_CLEARED),
        "DATAHAMN_HOME": str(tmp_path / "home"),
        "DATAHAMN_SECRET_KEY": "x",
        "DATAHAMN_ENVIRONMENT": "test",
        "DATAHAMN_DATABASE_URL": None,
        "DATAHAMN_SIGNED_URL_MAX_SECONDS": None,
        "DATAHAMN_STORAGE_URL": None,
        **variables,
    }
    assert_one_line_error(run(env, "demo"), message)


# SQLite only: test_demo.py runs the loader itself on both engines; this tests the command.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_command_is_idempotent_and_resets(
    env: dict[str, str | None], factory: sessionmaker[Session]
) -> None:
    first = run(env, "demo")
    assert first.exit_code == 0, first.output
    assert "created dataset norrvik-vader/lufttemperatur-timvarden" in first.stdout
    assert "demo catalog loaded: 3 organisations, 6 datasets, 8 published versions" in (
        first.stdout
    )

    second = run(env, "demo")
    assert second.exit_code == 0, second.output
    assert "created" not in second.stdout
    assert "exists: dataset fjallby-ai-lab/annoteringar-utkast" in second.stdout
    assert "already loaded; nothing to do" in second.stdout

    reset = run(env, "demo", "--reset")
    assert reset.exit_code == 0, reset.output
    assert "removed organisation norrvik-vader" in reset.stdout
    assert "removed 8 objects" in reset.stdout
    assert "demo catalog loaded" in reset.stdout
    with factory() as session:
        assert len(session.scalars(select(Organisation)).all()) == 3


# Client commands --------------------------------------------------------------------------


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> TestClient:
    """Point the client commands at the in-process app instead of a network server."""

    def in_process(url: str, token: str | None) -> _http.ApiClient:
        return _http.ApiClient(url, token, client=client)

    monkeypatch.setattr(datasets_cli, "ApiClient", in_process)
    return client


@pytest.fixture
def demo_api(api: TestClient, app: FastAPI) -> TestClient:
    load_demo(app.state.session_factory, app.state.store)
    return api


CLIENT_ENV: dict[str, str | None] = dict.fromkeys(_CLEARED)
PUBLIC = sorted(d.ref for d in DATASETS if d.visibility is Visibility.public)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_datasets_list_search_and_show(
    demo_api: TestClient, factory: sessionmaker[Session]
) -> None:
    listed = run(CLIENT_ENV, "datasets", "list", "--json")
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.stdout)
    assert sorted(f"{d['organisation']['name']}/{d['name']}" for d in body["data"]) == PUBLIC

    table = run(CLIENT_ENV, "datasets", "list", "--org", "norrvik-vader")
    assert table.exit_code == 0, table.output
    assert "norrvik-vader/lufttemperatur-timvarden" in table.stdout
    assert "sjostad-statistik" not in table.stdout and "1 dataset, page 1 of 1" in table.stdout

    found = run(CLIENT_ENV, "datasets", "search", "skola", "--theme", "education")
    assert found.exit_code == 0, found.output
    assert "sjostad-statistik/skolkostnader-per-kommun" in found.stdout
    theme_facet = next(line for line in found.stdout.splitlines() if line.startswith("theme:"))
    assert "education (1)" in theme_facet

    shown = run(CLIENT_ENV, "datasets", "show", "norrvik-vader/lufttemperatur-timvarden")
    assert shown.exit_code == 0, shown.output
    assert "Lufttemperatur" in shown.stdout and "CC-BY-4.0" in shown.stdout
    assert "8736 rows" in shown.stdout and "v2" in shown.stdout

    as_json = json.loads(
        run(
            CLIENT_ENV, "datasets", "show", "sjostad-statistik/skolkostnader-per-kommun", "--json"
        ).stdout
    )
    assert as_json["dataset"]["name"] == "skolkostnader-per-kommun"
    assert [v["number"] for v in as_json["versions"]] == [1, 2]

    # Partner-only data: hidden without a token, visible with the lab admin's.
    hidden = run(CLIENT_ENV, "datasets", "show", "norrvik-vader/nederbord-dygn")
    assert_one_line_error(hidden, "no dataset norrvik-vader/nederbord-dygn", "HTTP 404")
    with factory() as session:
        token = make_token(
            session, session.scalars(select(User).where(User.username == "demo-cecilia")).one()
        )
    partner = {**CLIENT_ENV, "DATAHAMN_TOKEN": token}
    seen = run(partner, "datasets", "show", "norrvik-vader/nederbord-dygn")
    assert seen.exit_code == 0, seen.output
    everything = json.loads(run(partner, "datasets", "list", "--json").stdout)
    assert everything["count"] == 6


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_client_errors_are_one_line(api: TestClient) -> None:
    bad_token = run({**CLIENT_ENV, "DATAHAMN_TOKEN": "dh_nope"}, "datasets", "list")
    assert_one_line_error(bad_token, "invalid or revoked token", "DATAHAMN_TOKEN", "HTTP 401")
    assert_one_line_error(
        run(CLIENT_ENV, "datasets", "list", "--page", "20000"), "query.page", "HTTP 422"
    )
    assert_one_line_error(run(CLIENT_ENV, "datasets", "show", "just-a-name"), "ORG/NAME")
    assert_one_line_error(
        run(CLIENT_ENV, "datasets", "list", "--url", "localhost:8000"), "must start with http"
    )


def test_unreachable_server_is_one_line() -> None:
    result = run({**CLIENT_ENV, "DATAHAMN_URL": "http://127.0.0.1:9"}, "datasets", "list")
    assert_one_line_error(result, "cannot reach datahamn at http://127.0.0.1:9", "DATAHAMN_URL")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            {
                "error": {
                    "code": "not-found",
                    "message": "no dataset a/b",
                    "details": [{"field": "dataset", "message": "no dataset a/b"}],
                }
            },
            "no dataset a/b (HTTP 404 not-found)",
        ),
        (
            422,
            {
                "error": {
                    "code": "invalid-input",
                    "message": "invalid input",
                    "details": [{"field": "query.page", "message": "too big"}],
                }
            },
            "invalid input; query.page: too big (HTTP 422 invalid-input)",
        ),
        (502, "<html>Bad Gateway</html>", "HTTP 502 from GET /api/v1/datasets: <html>Bad"),
        (200, "<html>not the API</html>", "not JSON"),
    ],
)
def test_http_client_messages(status: int, body: Any, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as raw:
        client = _http.ApiClient("http://datahamn.test", client=raw)
        with pytest.raises(CliError) as caught:
            client.get("/datasets")
    assert message in caught.value.message
    assert "\n" not in caught.value.message


# The installed console script, end to end ---------------------------------------------------


@pytest.mark.slow
def test_console_script_serve_demo_and_client(tmp_path: Path) -> None:
    assert SCRIPT.is_file(), f"{SCRIPT} missing: pip install -e '.[server]'"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DATAHAMN_") or k == "DATAHAMN_TEST_POSTGRES_URL"
    }
    env |= {
        "DATAHAMN_HOME": str(tmp_path / "home"),
        "DATAHAMN_URL": url,
        "DATAHAMN_LOG_LEVEL": "WARNING",
    }

    def datahamn(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_ready(url, server)
        demo = datahamn("demo")
        assert demo.returncode == 0, demo.stderr
        assert "demo catalog loaded" in demo.stdout

        listed = datahamn("datasets", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        names = sorted(
            f"{d['organisation']['name']}/{d['name']}" for d in json.loads(listed.stdout)["data"]
        )
        assert names == PUBLIC

        shown = datahamn("datasets", "show", "sjostad-statistik/elproduktion-per-kraftslag")
        assert shown.returncode == 0, shown.stderr
        assert "Elproduktion per kraftslag" in shown.stdout and "240 rows" in shown.stdout

    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
