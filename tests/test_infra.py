"""Deployment files in infra/: lint them and check the structure a deploy depends on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
DOCKERFILE = INFRA / "Dockerfile"
COMPOSE = INFRA / "compose.yaml"
ENV_EXAMPLE = INFRA / ".env.example"
YAMLLINT_CONFIG = ROOT / ".yamllint.yaml"

SERVICES = {"postgres", "minio", "minio-init", "app", "worker"}
# ${VAR:?message}: compose refuses to start when VAR is unset or empty.
REQUIRED_VAR = re.compile(r"^\$\{(?P<name>[A-Z][A-Z0-9_]*):\?[^}]+\}$")
INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
SECRET_KEY_NAME = re.compile(r"PASSWORD|SECRET|TOKEN", re.IGNORECASE)


def _tool(name: str) -> str:
    """A linter from PATH, else from the running interpreter's venv; fail if neither has it."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} not found; install the dev extra: pip install -e '.[dev]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _strings(node: Any) -> list[str]:
    """Every key and scalar in a parsed YAML document (comments are not part of it)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in [str(key), *_strings(value)]]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [] if node is None else [str(node)]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, arguments = stripped.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


# --- linters ----------------------------------------------------------------------------------


def test_hadolint_finds_nothing_at_warning_level() -> None:
    result = _run(
        _tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_ignores_carry_a_reason() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if "hadolint ignore=" in line:
            assert re.search(r"ignore=DL\d{4}(,DL\d{4})*\s+\S", line) or (
                number > 1 and lines[number - 2].strip().startswith("#")
            ), f"Dockerfile:{number}: give a reason for the hadolint ignore"


def test_yamllint_passes() -> None:
    result = _run(
        _tool("yamllint"),
        "--strict",
        "--format",
        "parsable",
        "--config-file",
        str(YAMLLINT_CONFIG),
        str(COMPOSE),
        str(YAMLLINT_CONFIG),
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- compose structure ------------------------------------------------------------------------


def test_compose_has_no_version_key_and_the_five_services(compose: dict[str, Any]) -> None:
    assert "version" not in compose
    assert set(compose["services"]) == SERVICES


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            continue
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r}"
    assert services["postgres"]["image"].startswith("postgres:16")
    assert re.fullmatch(r"minio/minio:RELEASE\.[0-9TZ-]+", services["minio"]["image"])
    assert re.fullmatch(r"minio/mc:RELEASE\.[0-9TZ-]+", services["minio-init"]["image"])


def test_app_waits_for_healthy_postgres_and_initialised_minio(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("app", "worker"):
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy"
        assert depends_on["minio-init"]["condition"] == "service_completed_successfully"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "healthcheck" in services["minio"]


def test_app_builds_the_image_and_serves_on_8000(services: dict[str, dict[str, Any]]) -> None:
    app = services["app"]
    assert app["build"]["dockerfile"] == "infra/Dockerfile"
    assert (COMPOSE.parent / app["build"]["context"]).resolve() == ROOT
    # Several server processes (datahamn.processes), about one per core.
    assert app["command"] == ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
    assert any(str(port).endswith(":8000") for port in app["ports"])


def test_worker_runs_the_jobs_with_the_same_image_and_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    app, worker = services["app"], services["worker"]
    assert worker["image"] == app["image"]
    assert worker["command"] == ["worker"]
    assert "profiles" not in worker  # a plain `up` starts it
    # The app runs no jobs itself; otherwise the two share one configuration.
    app_env = _environment(app)
    assert app_env.pop("DATAHAMN_EMBEDDED_WORKERS") == "0"
    assert "DATAHAMN_EMBEDDED_WORKERS" not in _environment(worker)
    assert _environment(worker) == app_env


def test_app_secrets_use_the_required_form(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(services["app"])
    for key in ("DATAHAMN_SECRET_KEY", "DATAHAMN_S3_SECRET_KEY", "DATAHAMN_S3_ACCESS_KEY"):
        assert REQUIRED_VAR.match(env[key]), f"{key} must be ${{VAR:?message}}, got {env[key]!r}"
    assert env["DATAHAMN_ENVIRONMENT"] == "production"
    assert "${POSTGRES_PASSWORD:?" in env["DATAHAMN_DATABASE_URL"]
    assert env["DATAHAMN_DATABASE_URL"].startswith("postgresql+psycopg://datahamn:")


def test_no_service_has_a_literal_secret(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in _environment(service).items():
            if SECRET_KEY_NAME.search(key) or key == "DATAHAMN_SECRET_KEY":
                assert REQUIRED_VAR.match(value), f"{name}.{key} must come from the environment"
            # a password inside a URL: user:password@host
            for match in re.finditer(r"://[^/:@\s]+:(?P<password>[^@\s]+)@", value):
                assert REQUIRED_VAR.match(match["password"]), f"{name}.{key} has a literal password"


def test_minio_init_creates_the_storage_bucket(services: dict[str, dict[str, Any]]) -> None:
    init = services["minio-init"]
    storage_url = _environment(services["app"])["DATAHAMN_STORAGE_URL"]
    assert storage_url.startswith("s3://")
    bucket = storage_url.removeprefix("s3://").split("/", 1)[0]
    assert _environment(init)["BUCKET"] == bucket
    script = " ".join(init["command"])
    assert 'mc mb --ignore-existing "datahamn/$$BUCKET"' in script


def test_every_datahamn_variable_is_a_settings_field(compose: dict[str, Any]) -> None:
    known = {"DATAHAMN_" + name.upper() for name in Settings.model_fields}
    used = {
        name for text in _strings(compose) for name in re.findall(r"\bDATAHAMN_[A-Z0-9_]+", text)
    }
    assert used, "compose sets no DATAHAMN_ variable"
    assert used <= known, f"not fields of catalog.settings.Settings: {sorted(used - known)}"


def test_env_example_lists_every_interpolated_variable(compose: dict[str, Any]) -> None:
    used = {name for text in _strings(compose) for name in INTERPOLATION.findall(text)}
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))
    assert used <= listed, f"missing from infra/.env.example: {sorted(used - listed)}"


def test_env_example_holds_no_secret_value() -> None:
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and SECRET_KEY_NAME.search(key):
            assert value == "", f"{key}: leave secrets empty in the example"


# --- Dockerfile structure ---------------------------------------------------------------------


def test_dockerfile_installs_with_the_lock_file() -> None:
    runs = [args for instruction, args in _dockerfile_instructions() if instruction == "RUN"]
    assert any(
        re.search(r"\bpip install\b.*(-c|--constraint)[ =]constraints\.txt\b.*\.\[server\]", run)
        for run in runs
    ), runs


def test_dockerfile_runs_as_non_root() -> None:
    instructions = _dockerfile_instructions()
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users, "no USER instruction"
    final_user = users[-1].split(":", 1)[0]
    assert final_user not in {"root", "0"}
    last_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    last_user = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "USER")
    assert last_user > last_from, "the final stage must switch to the non-root user"


def test_dockerfile_serves_with_healthcheck() -> None:
    instructions = dict(_dockerfile_instructions())  # last of each instruction wins
    froms = [args for instruction, args in _dockerfile_instructions() if instruction == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    assert re.search(r"python:3\.11[.\d]*-slim", DOCKERFILE.read_text(encoding="utf-8"))
    assert instructions["EXPOSE"] == "8000"
    assert "http://127.0.0.1:8000/healthz" in instructions["HEALTHCHECK"]
    assert "python" in instructions["HEALTHCHECK"]
    assert instructions["ENTRYPOINT"] == '["datahamn"]'
    assert instructions["CMD"] == '["serve", "--host", "0.0.0.0", "--port", "8000"]'
