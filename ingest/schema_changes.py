"""Schema changes between two versions of a table: added, removed and retyped columns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """The catalog's JSON form of an Arrow schema: one entry per top-level field."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


@dataclass(frozen=True)
class SchemaChange:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.retyped:
            parts.append(
                "retyped "
                + ", ".join(f"{r['name']} ({r['from']} -> {r['to']})" for r in self.retyped)
            )
        return "; ".join(parts) or "no change"


def compare(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> SchemaChange:
    before = {c["name"]: c["type"] for c in previous}
    after = {c["name"]: c["type"] for c in current}
    return SchemaChange(
        added=[n for n in after if n not in before],
        removed=[n for n in before if n not in after],
        retyped=[
            {"name": n, "from": before[n], "to": after[n]}
            for n in after
            if n in before and before[n] != after[n]
        ],
    )
