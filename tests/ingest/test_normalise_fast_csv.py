"""The fast path for delimited text (raw blocks straight to Arrow) against the general path.

The general path (``LineSource`` and ``RecordScanner``, line by line) is the reference:
whatever mix of blocks the fast path reads a file in, it must give the same strings, the
same line numbers, the same warnings and the same errors.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.errors import IngestError, Location
from ingest.options import FormatOptions, Limits
from ingest.readers.blocks import DelimitedSource, TextBlock
from ingest.readers.delimited import SNIFF_BYTES, read_delimited
from ingest.readers.sniff import find_layout
from ingest.readers.text import LineSource, detect_encoding
from tests.ingest.test_normalise_support import opener, realworld

WHERE = Location(file="t.csv")
CSV_FILES = [
    "smhi_boras_lufttemperatur_1961-2015.csv",
    "scb_pxweb_elproduktion_kommun_2009-2013_latin1.csv",
    "smhi_shark_codelist_cp1252.txt",
    "skolverket_kostnader_grundskola_2024_kommun.csv",
]

Read = tuple[pa.Table, list[int | None], list[str], int]


def _source(data: bytes, *, fast: bool, read_bytes: int, options: FormatOptions) -> DelimitedSource:
    head = data[:SNIFF_BYTES]
    encoding, ascii_fallback = detect_encoding(head, options.encoding, WHERE)
    lines = LineSource(
        io.BytesIO(head),
        encoding,
        where=WHERE,
        max_line_bytes=options.limits.max_line_bytes,
        prefix=len(data) > len(head),
    )
    layout = find_layout(
        [ln for chunk in lines.chunks() for ln in chunk], options=options, where=WHERE
    )
    return DelimitedSource(
        opener(data),
        encoding=encoding,
        ascii_fallback=ascii_fallback,
        layout=layout,
        options=options,
        where=WHERE,
        fast=fast,
        read_bytes=read_bytes,
    )


def _read(data: bytes, *, fast: bool, read_bytes: int = 4096, **fields: object) -> Read | str:
    """(strings, line of each row, warnings, rows read fast), or the error as text."""
    limits = Limits(**fields.pop("limits", {}))  # type: ignore[arg-type]
    options = FormatOptions(**fields, limits=limits)  # type: ignore[arg-type]
    source = _source(data, fast=fast, read_bytes=read_bytes, options=options)
    try:
        blocks: list[TextBlock] = list(source)
    except IngestError as exc:
        return f"{exc.problem}: {exc.message}"
    except Exception as exc:  # EncodingRetry: the reader starts again in another encoding
        return f"{type(exc).__name__}: {exc}"
    lines = [b.chunk.line_of(i) for b in blocks for i in range(b.table.num_rows)]
    table = pa.concat_tables([b.table for b in blocks]) if blocks else pa.table({})
    return table, lines, source.warnings, source.fast_rows


def _same(data: bytes, **fields: object) -> Read | str:
    """Read ``data`` both ways; they must agree. The fast path's result."""
    fast = _read(data, fast=True, **fields)  # type: ignore[arg-type]
    general = _read(data, fast=False, **fields)  # type: ignore[arg-type]
    if isinstance(general, str) or isinstance(fast, str):
        assert fast == general
        return fast
    assert fast[0].equals(general[0])
    assert fast[1:3] == general[1:3]
    assert general[3] == 0
    return fast


def _rows(n: int, width: int = 4, start: int = 0) -> list[str]:
    return [";".join(f"v{i}_{j}" for j in range(width)) for i in range(start, start + n)]


def test_a_regular_utf8_file_is_read_fast() -> None:
    data = ("a;b;c;d\n" + "\n".join(_rows(200_000)) + "\n").encode()
    assert len(data) > 3 * (1 << 20)  # several blocks of the default size
    source = _source(data, fast=True, read_bytes=1 << 20, options=FormatOptions())
    blocks = list(source)
    assert len(blocks) > 3 and all(b.fast for b in blocks)
    assert source.fast_rows == 200_000 and source.general_rows == 0
    last = blocks[-1]
    assert last.chunk.line_of(last.table.num_rows - 1) == 200_001
    assert last.table.column(0)[-1].as_py() == "v199999_0"


def test_regular_blocks_are_read_fast_around_irregular_ones() -> None:
    rows = _rows(3000)
    rows[1500] = "kort;rad"  # ragged: its block goes through the general path
    result = _same(("a;b;c;d\n" + "\n".join(rows) + "\n").encode())
    assert not isinstance(result, str)
    table, lines, warnings, fast_rows = result
    assert table.num_rows == 3000 and lines[-1] == 3001
    assert 0 < fast_rows < 3000
    assert any("line(s) 1,502" in w for w in warnings)


def test_regular_blocks_after_many_irregular_ones_are_read_fast_again() -> None:
    quoted = [f'{i};"rad {i}\nfortsätter";x;y' for i in range(1000)]  # line breaks in values
    text = "a;b;c;d\n" + "\n".join(quoted + _rows(20_000)) + "\n"
    result = _same(text.encode())
    assert not isinstance(result, str)
    assert result[0].num_rows == 21_000 and result[1][-1] == 22_001
    assert result[3] > 10_000


@pytest.mark.parametrize(
    "text",
    [
        "a;b;c;d\r\n" + "\r\n".join(_rows(2000)) + "\r\n",  # CRLF
        "a;b;c;d\r" + "\r".join(_rows(2000)) + "\r",  # old Mac line ends
        "a;b;c;d\n" + "\n".join(_rows(2000)),  # no line break at the end
        "a;b;c;d\n" + "\n".join(_rows(2000)) + "\n\n\n",  # blank lines at the end
        "a;b;c;d\n" + "\n\n".join(_rows(2000)) + "\n",  # blank lines inside
        "a;b;c;d\n" + "\n  \n".join(_rows(2000)) + "\n",  # whitespace-only lines
        "titel\n\nkälla: SCB\n\na;b;c;d\n" + "\n".join(_rows(2000)) + "\n",  # a preamble
        "a;b;c;d\n" + "\n".join(_rows(2000)) + "\n\nAnm;en not\nKälla;SCB\n",  # notes after
        "a;b;c;d\n" + "\n".join(_rows(1000)) + "\n\nbruten\n" + "\n".join(_rows(1000)) + "\n",
        "a;b;c;d\n" + "\n".join(r + ";;" for r in _rows(2000)) + "\n",  # empty extra fields
        "a;b;c;d\n" + "\n".join(r if i % 3 else "x;y" for i, r in enumerate(_rows(2000))),
        'a;b;c;d\n1;"två\nrader";3;4\n' + "\n".join(_rows(2000)) + '\n5;"x\r\ny";7;8\n',
        'a;b;c;d\n1;"citat ""inne""";3;4\n' + "\n".join(f'"{r}";x;y;z' for r in _rows(2000)),
        'a;b;c;d\n1;ab"c;d"e;4\n' + "\n".join(_rows(2000)) + "\n",  # quotes inside values
        "a;b;c;d\n" + "\n".join(_rows(2000)) + '\n1;"öppen\n2;3;4;5\n',  # never closed
        "a;b;c;d\n" + "\n".join(_rows(2000)) + '\n1;"öppen',  # open at the very end
        "a;b;c;d\n" + "\n".join(_rows(60_000)) + "\n" + "x" * 9000 + ";1;2;3\n",  # too long
        "\ufeffa;b;c;d\n" + "\n".join(_rows(2000)) + "\n",  # BOM
    ],
)
def test_fast_and_general_paths_agree(text: str) -> None:
    _same(text.encode(), limits={"max_line_bytes": 8192})


def test_invalid_utf8_is_reported_at_its_line() -> None:
    # Past the sniffed head: the block reader finds it.
    data = ("namn;ort\n" + "Åsa;Borås\n" * 100_000).encode() + b"Kalle;G\xf6teborg\n"
    assert len(data) > SNIFF_BYTES
    assert _same(data) == "invalid-encoding: " + _message(data)


def _message(data: bytes) -> str:
    general = _read(data, fast=False)
    assert isinstance(general, str)
    return general.split(": ", 1)[1]


@pytest.mark.parametrize("late", [b"Malm\xf6;2\n", b"Malm\xf6 \x96 C;2\n"])
def test_ascii_then_single_byte_asks_for_another_read(late: bytes) -> None:
    data = b"ort;n\n" + b"Ale;1\n" * 200_000 + late  # the sniffed head is ASCII
    assert len(data) > SNIFF_BYTES
    result = _same(data)
    assert isinstance(result, str) and result.startswith("EncodingRetry")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_single_byte_encodings_are_transcoded_fast(encoding: str) -> None:
    dash = "–" if encoding == "cp1252" else "-"
    text = "ort;beskrivning\n" + "".join(f"Göteborg {i};Västra {dash} hamn\n" for i in range(3000))
    result = _same(text.encode(encoding), encoding=encoding)
    assert not isinstance(result, str)
    assert result[0].column(1)[0].as_py() == f"Västra {dash} hamn" and result[3] > 0


@pytest.mark.parametrize("name", CSV_FILES)
def test_real_files_in_small_blocks(name: str) -> None:
    """Blocks far smaller than the files: most of each read fast, the rest not."""
    data = realworld(name).read_bytes()
    result = _same(data)
    assert not isinstance(result, str) and result[3] > 0


@pytest.mark.parametrize("name", CSV_FILES)
def test_real_files_give_the_same_parquet(name: str, tmp_path: Path) -> None:
    data = realworld(name).read_bytes()
    outputs = []
    tables = []
    for fast in (True, False):
        out = tmp_path / f"{fast}.parquet"
        table = read_delimited(
            opener(data), name=name, out_path=out, options=FormatOptions(), where=WHERE, fast=fast
        )
        assert table is not None
        outputs.append((table.row_count, table.schema, table.warnings, table.options_used))
        tables.append(pq.read_table(out))
    assert outputs[0] == outputs[1]
    assert tables[0].equals(tables[1])
