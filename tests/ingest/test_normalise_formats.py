"""Detection from names and magic bytes; FormatOptions as JSON; error shapes."""

from __future__ import annotations

import json

import pytest

from ingest.errors import PROBLEMS, IngestError, Location, excerpt
from ingest.formats import detect, inner_name
from ingest.options import FormatOptions, Limits


@pytest.mark.parametrize(
    ("name", "head", "kind", "media"),
    [
        ("a.csv", b"a;b\n1;2\n", "csv", "text/csv"),
        ("a.tsv", b"a\tb\n", "csv", "text/tab-separated-values"),
        ("a.txt", b"a\tb\n", "text", "text/plain"),
        ("a.json", b"[{}]", "json", "application/json"),
        ("a.ndjson", b"{}\n{}\n", "jsonl", "application/x-ndjson"),
        ("noname", b'{"a": 1}\n{"a": 2}\n', "jsonl", "application/x-ndjson"),
        ("noname", b"a,b\n1,2\n", "text", "text/plain"),
        ("a.parquet", b"PAR1\x15\x04", "parquet", "application/vnd.apache.parquet"),
        ("a.csv.gz", b"\x1f\x8b\x08\x00", "gzip", "application/gzip"),
        ("a.zip", b"PK\x03\x04rest", "zip", "application/zip"),
        (
            "a.xlsx",
            b"PK\x03\x04[Content_Types].xml",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "x",
            b"PK\x03\x04\0\0[Content_Types].xml..xl/workbook.xml",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("a.png", b"\x89PNG\r\n\x1a\n", "opaque", "image/png"),
        ("a.jpg", b"\xff\xd8\xff\xe0", "opaque", "image/jpeg"),
        ("a.mp4", b"\0\0\0\x18ftypisom", "opaque", "video/mp4"),
        ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "opaque", "application/x-ole-storage"),
        ("a.sqlite", b"SQLite format 3\x00", "opaque", "application/vnd.sqlite3"),
        ("readme.md", b"# Rubrik\n", "opaque", "text/markdown"),
    ],
)
def test_detect(name: str, head: bytes, kind: str, media: str) -> None:
    found = detect(name, head)
    assert (found.kind, found.media_type) == (kind, media)


def test_detect_forced_format() -> None:
    assert detect("data.dat", b"a|b\n", forced="csv").kind == "csv"
    assert detect("data.bin", b"\x89PNG\r\n\x1a\n", forced="opaque").kind == "opaque"
    with pytest.raises(IngestError) as caught:
        detect("data.dat", b"\x00\x01\x02", forced="csv")
    assert caught.value.problem == "binary-content"


def test_renamed_container_is_noted() -> None:
    assert detect("data.csv", b"PK\x03\x04").renamed_from == "csv"


def test_inner_names() -> None:
    assert inner_name("dir/data.csv.gz") == "data.csv"
    assert inner_name("arkiv.tgz") == "arkiv.tar"


def test_options_round_trip_as_json() -> None:
    options = FormatOptions(
        encoding="cp1252",
        delimiter=";",
        skip_rows=9,
        header=True,
        decimal=",",
        missing_values=("..", ""),
        column_types={"kod": "string"},
        limits=Limits(max_columns=500),
    )
    stored = json.loads(json.dumps(options.to_dict()))
    assert stored["limits"] == {"max_columns": 500}
    assert "quote" not in stored  # defaults are left out
    assert FormatOptions.from_dict(stored) == options
    assert FormatOptions.from_dict({}) == FormatOptions()
    assert FormatOptions.from_dict(None) == FormatOptions()


@pytest.mark.parametrize(
    "bad",
    [
        {"delimeter": ";"},
        {"limits": {"max_colums": 3}},
        {"delimiter": ";;"},
        {"decimal": ";"},
        {"format": "xml"},
        {"column_types": {"a": "float"}},
        {"thousands": ",", "decimal": ","},
        {"limits": {"max_columns": 0}},
    ],
)
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FormatOptions.from_dict(bad)


def test_error_shape() -> None:
    err = IngestError("ragged-rows", "too ragged", Location(file="a.csv", member="m", line=12))
    assert err.message == "too ragged (a.csv, member 'm', line 12)"
    assert err.to_dict() == {
        "problem": "ragged-rows",
        "message": err.message,
        "file": "a.csv",
        "member": "m",
        "line": 12,
    }
    assert str(err) == err.message
    assert all(code == code.lower() and " " not in code for code in PROBLEMS)


def test_excerpt_is_short() -> None:
    assert excerpt("x" * 500) == repr("x" * 40 + "…")
    assert excerpt(b"ok\r\n") == "'ok'"


def test_formats_doc_names_every_option_limit_and_problem() -> None:
    from dataclasses import fields

    from tests.ingest.test_normalise_support import REPO

    doc = (REPO / "docs" / "formats.md").read_text(encoding="utf-8")
    names = [f.name for f in fields(FormatOptions)] + [f.name for f in fields(Limits)]
    missing = [n for n in [*names, *PROBLEMS] if f"| `{n}` |" not in doc]
    assert missing == []


def test_error_survives_pickling() -> None:
    import pickle

    err = IngestError("unsafe-path", "bad path", Location(file="a.zip", member="../x"))
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.problem, copy.message, copy.location) == (err.problem, err.message, err.location)
