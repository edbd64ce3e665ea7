"""docs/configuration.md documents every setting and every variable the CLI reads, and
nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main
from pydantic import SecretStr

from catalog.settings import Settings
from datahamn.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
# A table row whose first cell names a variable: | `DATAHAMN_X` | default | meaning |
ROW = re.compile(r"^\|\s*`(?P<name>DATAHAMN_[A-Z0-9_]+)`\s*\|(?P<rest>.*)$")


def _documented() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["name"] not in rows, f"{match['name']} is documented twice"
            rows[match["name"]] = match["rest"]
    return rows


def _settings_variables() -> dict[str, Any]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper(): f.default for name, f in Settings.model_fields.items()}


def _cli_variables() -> set[str]:
    found: set[str] = set()

    def walk(command: Any) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            found.update([envvar] if isinstance(envvar, str) else envvar or [])
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return found


def test_every_setting_is_documented() -> None:
    missing = set(_settings_variables()) - set(_documented())
    assert not missing, f"document these in docs/configuration.md: {sorted(missing)}"


def test_every_cli_variable_is_documented() -> None:
    missing = _cli_variables() - set(_documented())
    assert not missing, f"document these in docs/configuration.md: {sorted(missing)}"
    assert {"DATAHAMN_URL", "DATAHAMN_TOKEN"} <= _cli_variables()


def test_no_documented_variable_is_made_up() -> None:
    unknown = set(_documented()) - set(_settings_variables()) - _cli_variables()
    assert not unknown, f"docs/configuration.md names variables nothing reads: {sorted(unknown)}"


def test_documented_defaults_match_the_code() -> None:
    rows = _documented()
    for name, default in _settings_variables().items():
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if default is None or default == "":
            continue  # derived or empty defaults are described in words
        text = str(default).lower() if isinstance(default, bool) else str(default)
        assert f"`{text}`" in rows[name], f"{name}: the documented default is not `{text}`"
