"""The base install (a data scientist's laptop) carries no server stack."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
SERVER_ONLY = {"fastapi", "sqlalchemy", "great-expectations", "alembic", "uvicorn", "minio"}


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_base_dependencies_exclude_the_server_stack() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert _names(project["dependencies"]) & SERVER_ONLY == set()
    assert SERVER_ONLY <= _names(project["optional-dependencies"]["server"])


def test_every_locked_requirement_is_pinned() -> None:
    lock = PYPROJECT.parent / "constraints.txt"
    lines = [ln for ln in lock.read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines and all("==" in ln for ln in lines)
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    wanted = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= _names(extra)
    locked = {Requirement(ln).name.lower().replace("_", "-") for ln in lines}
    assert {w.replace("_", "-") for w in wanted} - locked == set()
