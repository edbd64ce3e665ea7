"""Bad input: a clear error naming the problem and where it is, and nothing written."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

from tests.ingest.test_normalise_support import fails


def test_empty_file(tmp_path: Path) -> None:
    err = fails(b"", "data.csv", tmp_path, "empty-file")
    assert "data.csv" in err.message


def test_only_blank_lines_is_empty(tmp_path: Path) -> None:
    fails(b"\n\n  \n", "data.csv", tmp_path, "empty-file")


def test_binary_bytes_named_csv(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    err = fails(png, "kommuner.csv", tmp_path, "binary-content")
    assert "kommuner.csv" in err.message and "image/png" in err.message


def test_random_bytes_named_csv(tmp_path: Path) -> None:
    noise = bytes((i * 7919) % 256 for i in range(4096))
    err = fails(noise, "data.csv", tmp_path, "binary-content")
    assert "byte" in err.message


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = gzip.compress(b"a;b\n" + b"1;2\n" * 50_000)
    err = fails(whole[: len(whole) // 2], "data.csv.gz", tmp_path, "truncated-gzip")
    assert "data.csv.gz" in err.message and "byte" in err.message


def test_corrupt_gzip(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(b"a;b\n" + b"1;2\n" * 1000))
    whole[-8] ^= 0xFF  # the CRC
    fails(bytes(whole), "data.csv.gz", tmp_path, "corrupt-gzip")


def _zeros_zip(size: int, name: str = "zeros.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(block)
    return buffer.getvalue()


def test_zip_bomb_ratio(tmp_path: Path) -> None:
    bomb = _zeros_zip(64 << 20)  # about 1000:1, refused from the directory alone
    err = fails(bomb, "bomb.zip", tmp_path, "decompression-bomb")
    assert "zeros.csv" in err.message and "max_compression_ratio" in err.message


def test_zip_total_size_limit(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):
            archive.writestr(f"part{i}.csv", "a;b\n" + "".join(f"{n};{n}\n" for n in range(50_000)))
    err = fails(
        buffer.getvalue(), "parts.zip", tmp_path, "decompression-bomb",
        limits={"max_uncompressed_bytes": 1 << 20},
    )  # fmt: skip
    assert "part" in err.message and "max_uncompressed_bytes" in err.message


def test_gzip_bomb_stops_early(tmp_path: Path) -> None:
    """128 MiB of CSV in about 128 KB of gzip: refused once the first 8 MiB come out."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = (b"0" * 1022 + b";0\n") * 1024  # long lines: little CSV work before the limit
    bomb = b"".join(packer.compress(block) for _ in range(128)) + packer.flush()
    err = fails(bomb, "rows.csv.gz", tmp_path, "decompression-bomb")
    assert "rows.csv.gz" in err.message and "max_compression_ratio" in err.message


def test_ragged_rows_beyond_tolerance(tmp_path: Path) -> None:
    rows = ["a;b;c;d"] + [f"{i};{i};{i};{i}" if i % 3 else f"{i};{i}" for i in range(1, 3000)]
    err = fails("\n".join(rows).encode(), "ragged.csv", tmp_path, "ragged-rows")
    assert "line 4" in err.message and "4" in err.message and "ragged.csv" in err.message


def test_ragged_rows_over_the_absolute_cap(tmp_path: Path) -> None:
    rows = ["a;b"] + [f"{i};{i}" if i % 50 else f"{i};{i};x" for i in range(1, 10_000)]
    err = fails(
        "\n".join(rows).encode(), "r.csv", tmp_path, "ragged-rows",
        limits={"max_ragged_rows": 100},
    )  # fmt: skip
    assert "line 51" in err.message


def test_invalid_utf8_declared_as_utf8(tmp_path: Path) -> None:
    data = "namn;ort\nÅsa;Borås\nÖrjan;Umeå\n".encode() + b"Kalle;G\xf6teborg\n"
    err = fails(data, "people.csv", tmp_path, "invalid-encoding", encoding="utf-8")
    assert "line 4" in err.message and "f6" in err.message


def test_invalid_utf8_after_utf8_text(tmp_path: Path) -> None:
    """Real UTF-8 first, a Latin-1 byte later: broken, not a different encoding."""
    for rows in (1_000, 1_000_000):  # the bad byte inside the sniffed head, and after it
        data = ("namn\n" + "Åsa\n" * rows).encode() + b"G\xf6teborg\n"
        err = fails(data, "people.csv", tmp_path, "invalid-encoding")
        assert f"line {rows + 2:,}" in err.message


def test_fifty_thousand_columns(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(50_000))
    row = ",".join("1" for _ in range(50_000))
    err = fails(f"{header}\n{row}\n".encode(), "wide.csv", tmp_path, "too-many-columns")
    assert "50,000" in err.message and "line 1" in err.message


def test_ten_megabyte_line(tmp_path: Path) -> None:
    data = b"a;b\n1;2\n" + b"x" * (10 << 20) + b";3\n"
    err = fails(data, "long.csv", tmp_path, "line-too-long")
    assert "line 3" in err.message and "max_line_bytes" in err.message


def test_ten_megabyte_line_first(tmp_path: Path) -> None:
    err = fails(b"y" * (10 << 20), "long.csv", tmp_path, "line-too-long")
    assert "line 1" in err.message


def test_quoted_record_never_closing(tmp_path: Path) -> None:
    data = b'a,b\n1,"open\n2,3\n'
    err = fails(data, "q.csv", tmp_path, "unterminated-quote")
    assert "line 2" in err.message


def _zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.csv", "a\n1\n")
        archive.writestr(zipfile.ZipInfo(name), "root:x:0:0\n")
    return buffer.getvalue()


def test_path_traversal_in_zip(tmp_path: Path) -> None:
    err = fails(_zip_with("../../etc/passwd"), "evil.zip", tmp_path, "unsafe-path")
    assert "../../etc/passwd" in err.message and "'..'" in err.message


def test_absolute_path_in_zip(tmp_path: Path) -> None:
    err = fails(_zip_with("/etc/passwd"), "evil.zip", tmp_path, "unsafe-path")
    assert "/etc/passwd" in err.message and "absolute" in err.message


def test_windows_paths_in_zip(tmp_path: Path) -> None:
    fails(_zip_with("..\\..\\windows\\win.ini"), "evil.zip", tmp_path, "unsafe-path")
    fails(_zip_with("C:/windows/win.ini"), "evil.zip", tmp_path, "unsafe-path")


def test_not_a_zip(tmp_path: Path) -> None:
    data = b"PK\x03\x04" + b"\0" * 100
    fails(data, "broken.zip", tmp_path, "invalid-zip")


def test_invalid_json(tmp_path: Path) -> None:
    err = fails(b'[{"a": 1},\n {"a": 2,,}\n]', "x.json", tmp_path, "invalid-json")
    assert "line 2" in err.message


def test_invalid_json_lines(tmp_path: Path) -> None:
    err = fails(b'{"a": 1}\n{"a": 2}\n{"a": \n', "x.jsonl", tmp_path, "invalid-json")
    assert "line 3" in err.message


def test_deep_json(tmp_path: Path) -> None:
    deep = b'[{"a": ' + b"[" * 100 + b"]" * 100 + b"}]"
    fails(deep, "deep.json", tmp_path, "json-too-deep")


def test_named_xlsx_but_text(tmp_path: Path) -> None:
    fails(b"a;b\n1;2\n", "book.xlsx", tmp_path, "invalid-excel")


def test_forced_type_that_does_not_fit(tmp_path: Path) -> None:
    data = b"kod;namn\n1;a\n2;b\nx3;c\n"
    err = fails(data, "t.csv", tmp_path, "invalid-value", column_types={"kod": "integer"})
    assert "line 4" in err.message and "'kod'" in err.message


def test_error_excerpt_is_short(tmp_path: Path) -> None:
    secret = "personnummer 19121212-1212 " * 100
    data = f'a,b\n1,2\n3,"{secret}\n'.encode()
    err = fails(data, "q.csv", tmp_path, "unterminated-quote")
    assert len(err.message) < 300 and secret not in err.message
