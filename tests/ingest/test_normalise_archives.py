"""gzip and zip inputs, opaque files, and the manifest of a zip of many files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq

from tests.ingest.test_normalise_support import only_table, realworld, run, table_of

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
PDF = b"%PDF-1.7\n" + bytes(200)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_gzip_csv(tmp_path: Path) -> None:
    raw = realworld("scb_pxweb_elproduktion_kommun_2009-2013_latin1.csv").read_bytes()
    result = run(gzip.compress(raw), "el.csv.gz", tmp_path)
    table = only_table(result)
    assert (table.name, table.row_count, len(table.columns)) == ("el", 9_984, 8)
    assert result.media_type == "application/gzip" and result.opaque is None


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    data = gzip.compress(b"a;b\n1;2\n") + gzip.compress(b"3;4\n")
    assert table_of(run(data, "x.csv.gz", tmp_path)).to_pylist() == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]


def test_gzip_of_json_lines(tmp_path: Path) -> None:
    data = gzip.compress(b'{"a": 1}\n{"a": 2}\n')
    assert only_table(run(data, "x.jsonl.gz", tmp_path)).row_count == 2


def test_zip_of_many_files_has_tables_and_a_manifest(tmp_path: Path) -> None:
    members = {
        "data/2023.csv": "år;värde\n2023;1,5\n".encode(),
        "data/2024.csv": "år;värde\n2024;2,5\n".encode(),
        "docs/bild.png": PNG,
        "docs/rapport.pdf": PDF,
        "__MACOSX/._2023.csv": b"\0\5\26\7",
    }
    result = run(_zip(members), "paket.zip", tmp_path)
    assert [t.name for t in result.tables] == ["data/2023.csv", "data/2024.csv"]
    assert result.opaque is None and result.media_type == "application/zip"
    manifest = result.manifest
    assert manifest is not None and manifest.row_count == 5
    rows = {r["path"]: r for r in pq.read_table(manifest.parquet_path).to_pylist()}
    assert rows["docs/bild.png"]["media_type"] == "image/png"
    assert rows["docs/rapport.pdf"]["media_type"] == "application/pdf"
    assert rows["data/2023.csv"]["media_type"] == "text/csv"
    assert rows["docs/bild.png"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert rows["docs/bild.png"]["size"] == len(PNG)
    assert [c.name for c in manifest.columns] == ["path", "size", "sha256", "media_type"]
    json.dumps(manifest.statistics)


def test_zip_of_one_csv_is_just_the_table(tmp_path: Path) -> None:
    result = run(
        _zip({"kommuner.csv": b"kod;namn\n0114;Upplands V\xc3\xa4sby\n"}), "k.zip", tmp_path
    )
    assert only_table(result).name == "kommuner.csv" and result.manifest is None


def test_zip_without_tables_is_opaque_with_manifest(tmp_path: Path) -> None:
    data = _zip({"a.png": PNG, "b.pdf": PDF})
    result = run(data, "bilder.zip", tmp_path)
    assert result.tables == []
    assert result.opaque is not None
    assert result.opaque.sha256 == hashlib.sha256(data).hexdigest()
    assert result.opaque.media_type == "application/zip" and result.opaque.size == len(data)
    assert result.manifest is not None and result.manifest.row_count == 2


def test_opaque_files(tmp_path: Path) -> None:
    for data, name, media in (
        (PNG, "bild.png", "image/png"),
        (PDF, "rapport.pdf", "application/pdf"),
        (b"RIFF\0\0\0\0WAVEfmt " + bytes(64), "ljud.wav", "audio/wav"),
        (b"ID3\3\0" + bytes(64), "ljud.mp3", "audio/mpeg"),
        (bytes(range(256)), "okänd.bin", "application/octet-stream"),
    ):
        result = run(data, name, tmp_path)
        assert result.tables == [] and result.manifest is None
        assert result.opaque is not None
        assert (result.opaque.media_type, result.opaque.size) == (media, len(data))
        assert result.opaque.sha256 == hashlib.sha256(data).hexdigest()


def test_tar_gz_is_one_opaque_file(tmp_path: Path) -> None:
    tar = bytes(257) + b"ustar" + bytes(250)
    data = gzip.compress(tar)
    result = run(data, "arkiv.tar.gz", tmp_path)
    assert result.tables == [] and result.opaque is not None
    assert result.opaque.media_type == "application/gzip"


def test_csv_named_wrongly_but_gzip_inside(tmp_path: Path) -> None:
    result = run(gzip.compress(b"a;b\n1;2\n"), "data.csv", tmp_path)
    assert only_table(result).row_count == 1
