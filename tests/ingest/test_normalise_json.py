"""JSON arrays, JSON Lines and wrapped objects: nested objects become structs and lists."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from tests.ingest.test_normalise_support import only_table, run, table_of, types

RECORDS = [
    {"kommun": "Borås", "kod": "1490", "invånare": 115_000, "mätning": {"temp": -3.5, "ok": True}},
    {"kommun": "Kiruna", "kod": "2584", "invånare": 22_000, "taggar": ["norr", "gruva"]},
    {"kommun": "Umeå", "invånare": 131_000.5, "mätning": {"temp": 1, "station": {"id": 7}}},
]


def _check(result_table: pa.Table) -> None:
    rows = result_table.to_pylist()
    assert [r["kommun"] for r in rows] == ["Borås", "Kiruna", "Umeå"]
    assert rows[1]["taggar"] == ["norr", "gruva"] and rows[0]["taggar"] is None
    assert rows[0]["mätning"] == {"temp": -3.5, "ok": True, "station": None}
    assert rows[2]["mätning"]["station"] == {"id": 7}
    assert rows[2]["invånare"] == 131_000.5


def test_json_array_with_nested_objects(tmp_path: Path) -> None:
    result = run(json.dumps(RECORDS, ensure_ascii=False).encode(), "k.json", tmp_path)
    table = only_table(result)
    assert table.source_format == "json"
    assert types(table) == {
        "kommun": "string",
        "kod": "string",
        "invånare": "double",
        "mätning": "struct<temp: double, ok: bool, station: struct<id: int64>>",
        "taggar": "list<item: string>",
    }
    _check(table_of(result))


def test_json_lines(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n\n"
    result = run(text.encode(), "k.jsonl", tmp_path)
    assert only_table(result).source_format == "jsonl"
    _check(table_of(result))


def test_pretty_printed_array_across_read_chunks(tmp_path: Path) -> None:
    records = [{"i": i, "text": "x" * (i % 50), "nested": {"v": [i, i + 1]}} for i in range(25_000)]
    data = json.dumps(records, indent=1).encode()
    assert len(data) > 2 << 20  # two read chunks and more
    result = run(data, "big.json", tmp_path)
    table = only_table(result)
    assert table.row_count == 25_000
    assert table_of(result).column("nested")[24_999].as_py() == {"v": [24_999, 25_000]}


def test_conflicting_types_are_kept_as_json_text(tmp_path: Path) -> None:
    records = [{"v": 1}, {"v": "två"}, {"v": {"a": 3}}, {"v": None}, {"v": 2**70}]
    result = run(json.dumps(records).encode(), "c.json", tmp_path)
    assert types(only_table(result)) == {"v": "string"}
    assert table_of(result).column("v").to_pylist() == ["1", "två", '{"a": 3}', None, str(2**70)]


def test_late_new_key_is_picked_up(tmp_path: Path) -> None:
    records = [{"a": i} for i in range(50_000)] + [{"a": 1, "b": "sent"}]
    text = "\n".join(json.dumps(r) for r in records)
    result = run(text.encode(), "l.jsonl", tmp_path, limits={"inference_bytes": 1 << 10})
    table = only_table(result)
    assert types(table) == {"a": "int64", "b": "string"}
    assert table_of(result).column("b").to_pylist()[-1] == "sent"
    assert any("'b'" in w for w in table.warnings)


def test_wrapped_records_are_unwrapped(tmp_path: Path) -> None:
    data = {"type": "FeatureCollection", "features": [{"id": 1}, {"id": 2}]}
    result = run(json.dumps(data).encode(), "g.geojson", tmp_path)
    assert table_of(result).column("id").to_pylist() == [1, 2]
    assert any("'features'" in w for w in only_table(result).warnings)


def test_scalars_become_a_value_column(tmp_path: Path) -> None:
    result = run(b"[1, 2.5, 3]", "s.json", tmp_path)
    assert table_of(result).to_pylist() == [{"value": 1.0}, {"value": 2.5}, {"value": 3.0}]


def test_json_without_a_telling_name(tmp_path: Path) -> None:
    assert only_table(run(b'[{"a": 1}]', "export", tmp_path)).source_format == "json"
    assert only_table(run(b'{"a": 1}\n{"a": 2}\n', "export", tmp_path)).row_count == 2


def test_empty_array_is_empty(tmp_path: Path) -> None:
    from tests.ingest.test_normalise_support import fails

    fails(b"[ ]", "e.json", tmp_path, "empty-file")
