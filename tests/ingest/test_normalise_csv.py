"""Delimited text: dialects, encodings, preambles, value rules, streaming edge cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.ingest.test_normalise_support import only_table, run, table_of, types


@pytest.mark.parametrize(
    ("delimiter", "filename"),
    [(",", "a.csv"), (";", "a.csv"), ("\t", "a.tsv"), ("|", "a.txt"), ("\t", "a.txt")],
)
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, filename: str) -> None:
    rows = [["namn", "antal", "kommentar"], ["Borås", "3", "a, b; c"], ["Umeå", "4", ""]]
    text = "\n".join(
        delimiter.join(f'"{v}"' if any(c in v for c in ",;\t|") else v for v in row) for row in rows
    )
    result = run(text.encode(), filename, tmp_path)
    table = only_table(result)
    assert table.options_used.delimiter == delimiter
    assert table_of(result).to_pylist() == [
        {"namn": "Borås", "antal": 3, "kommentar": "a, b; c"},
        {"namn": "Umeå", "antal": 4, "kommentar": None},
    ]


def test_quoted_fields_with_newlines_delimiters_and_quotes(tmp_path: Path) -> None:
    text = 'id,text,n\n1,"två\nrader, och ""citat""",5\n2,"enkel",6\r\n3,"x\r\ny",7\n'
    data = table_of(run(text.encode(), "q.csv", tmp_path)).to_pylist()
    assert [r["text"] for r in data] == ['två\nrader, och "citat"', "enkel", "x\ny"]
    assert [r["n"] for r in data] == [5, 6, 7]


def test_quoted_records_across_chunk_and_block_boundaries(tmp_path: Path) -> None:
    """Multi-line quoted fields everywhere in a file far larger than one read chunk."""
    rows = [f'{i},"rad {i}\nfortsätter; ""{i}""",{i * 2}' for i in range(120_000)]
    text = "id,text,dubbel\n" + "\n".join(rows) + "\n"
    assert len(text) > 4 << 20
    result = run(text.encode(), "big.csv", tmp_path)
    table = only_table(result)
    assert table.row_count == 120_000
    data = table_of(result)
    assert data.column("text")[99_999].as_py() == 'rad 99999\nfortsätter; "99999"'
    assert data.column("dubbel").to_pylist()[-1] == 239_998
    assert types(table) == {"id": "int64", "text": "string", "dubbel": "int64"}


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("latin-1", "latin-1"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    dash = "–" if encoding in ("cp1252", "utf-8", "utf-8-sig", "utf-16") else "-"
    text = f"ort;beskrivning\nGöteborg;Västra {dash} hamn\nÅre;fjäll\n"
    result = run(text.encode(encoding), "e.csv", tmp_path)
    assert only_table(result).options_used.encoding == expected
    assert table_of(result).column("ort").to_pylist() == ["Göteborg", "Åre"]
    assert table_of(result).column("beskrivning")[0].as_py() == f"Västra {dash} hamn"


def test_encoding_can_be_overridden(tmp_path: Path) -> None:
    data = "ort\nGöteborg\n".encode("cp1252")
    result = run(data, "e.csv", tmp_path, encoding="latin-1")
    assert only_table(result).options_used.encoding == "iso8859-1"
    assert table_of(result).column("ort").to_pylist() == ["Göteborg"]


def test_ascii_head_then_latin1_is_read_again(tmp_path: Path) -> None:
    """The sniffed head is pure ASCII; a Latin-1 byte 3 MB in restarts as single-byte."""
    text = "ort;n\n" + "Ale;1\n" * 600_000 + "Malmö;2\n"
    result = run(text.encode("latin-1"), "late.csv", tmp_path)
    table = only_table(result)
    assert table.options_used.encoding == "latin-1"
    assert table.row_count == 600_001
    assert table_of(result).column("ort")[-1].as_py() == "Malmö"
    assert any("not UTF-8" in w for w in table.warnings)


def test_decimal_comma_space_thousands_and_missing_markers(tmp_path: Path) -> None:
    text = (
        "kommun;kod;temp;invånare;andel;datum;fritext\n"
        "Ale;1440;-3,2;31 402;12,5;2024-01-31;-\n"
        "Alvesta;0764;..;20\u00a0123;..;2024-02-29;..\n"
        "Arboga;1984;4,0;1\u202f234\u202f567;-;;a\n"
        "Arjeplog;2506;…;;0,5;2024-03-01;\n"
    )
    result = run(text.encode(), "v.csv", tmp_path)
    assert types(only_table(result)) == {
        "kommun": "string",
        "kod": "string",
        "temp": "double",
        "invånare": "int64",
        "andel": "double",
        "datum": "date32[day]",
        "fritext": "string",
    }
    data = table_of(result).to_pydict()
    assert data["kod"] == ["1440", "0764", "1984", "2506"]
    assert data["temp"] == [-3.2, None, 4.0, None]
    assert data["invånare"] == [31_402, 20_123, 1_234_567, None]
    assert data["andel"] == [12.5, None, None, 0.5]
    assert data["datum"] == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), None, dt.date(2024, 3, 1)]
    # In a text column the markers are text: '-' may be a code there.
    assert data["fritext"] == ["-", "..", "a", None]


def test_numbers_that_are_not_clearly_numeric_stay_text(tmp_path: Path) -> None:
    text = (
        "a;b;c;d;e;f\n1,5;1 2 3;12345678901234567890;2024-02-30;1.5;nan\n2.5;4;1;2024-01-01;2,5;1\n"
    )
    assert set(types(only_table(run(text.encode(), "t.csv", tmp_path))).values()) == {"string"}


def test_decimal_and_thousands_options(tmp_path: Path) -> None:
    text = "belopp\n1.234,50\n2.000,00\n"
    result = run(text.encode(), "b.csv", tmp_path, decimal=",", thousands=".")
    assert table_of(result).column("belopp").to_pylist() == [1234.5, 2000.0]


def test_late_value_widens_the_type_and_the_file_is_read_again(tmp_path: Path) -> None:
    """Types come from a sample; a later misfit (a code with a leading zero) re-reads."""
    rows = "".join(f"{1000 + i % 8000};{i}\n" for i in range(400_000))
    text = "kod;n\n" + rows + "0180;1\n"
    result = run(text.encode(), "late.csv", tmp_path, limits={"inference_bytes": 64 << 10})
    table = only_table(result)
    assert types(table) == {"kod": "string", "n": "int64"}
    assert table.row_count == 400_001
    assert table_of(result).column("kod")[-1].as_py() == "0180"
    assert any("'0180'" in w and "line 400,002" in w for w in table.warnings)


def test_column_types_can_be_forced(tmp_path: Path) -> None:
    text = "kod;värde\n1440;1\n1489;2\n"
    result = run(text.encode(), "f.csv", tmp_path, column_types={"kod": "string"})
    assert types(only_table(result)) == {"kod": "string", "värde": "int64"}


def test_ragged_rows_within_tolerance_are_padded_and_cut(tmp_path: Path) -> None:
    rows = [f"{i};{i};{i}" for i in range(200)]
    rows[10] = "10;10"
    rows[20] = "20;20;20;extra"
    rows[30] = "30;30;30;;"
    result = run(("a;b;c\n" + "\n".join(rows)).encode(), "r.csv", tmp_path)
    table = only_table(result)
    assert table.row_count == 200
    data = table_of(result).to_pydict()
    assert data["c"][10] is None and data["c"][20] == 20
    warnings = " ".join(table.warnings)
    assert "2 row(s) have a different number" in warnings and "line(s) 12, 22" in warnings


def test_lines_are_counted_after_a_record_of_several_lines(tmp_path: Path) -> None:
    rows = [f"{i};{i};{i}" for i in range(200)]
    rows[0] = '0;"tre\nrader\nlång";0'
    rows[10] = "10;10"
    result = run(("a;b;c\n" + "\n".join(rows)).encode(), "r.csv", tmp_path)
    # The header is line 1, the first record lines 2-4, so row 10 is on line 14.
    assert "line(s) 14" in " ".join(only_table(result).warnings)


def test_blank_line_then_notes_ends_the_table(tmp_path: Path) -> None:
    text = "a;b;c\n1;2;3\n4;5;6\n\nKälla: SCB\nAnm;en not\n"
    result = run(text.encode(), "n.csv", tmp_path)
    table = only_table(result)
    assert table.row_count == 2
    assert any("before line 5" in w for w in table.warnings)


def test_blank_lines_inside_a_table_are_skipped(tmp_path: Path) -> None:
    text = "a;b;c\n1;2;3\n\n4;5;6\n\n\n7;8;9\n"
    assert only_table(run(text.encode(), "n.csv", tmp_path)).row_count == 3


def test_damage_after_a_blank_line_is_an_error(tmp_path: Path) -> None:
    rows = "".join(f"{i};{i};{i}\n" for i in range(100))
    text = "a;b;c\n" + rows + "\nbroken\n" + rows
    with pytest.raises(Exception) as caught:
        run(text.encode(), "d.csv", tmp_path)
    assert getattr(caught.value, "problem", None) == "ragged-rows"
    assert "line 103" in str(caught.value)


def test_header_less_numeric_file(tmp_path: Path) -> None:
    result = run(b"1;2\n3;4\n", "n.csv", tmp_path)
    table = only_table(result)
    assert table.options_used.header is False
    assert [c.name for c in table.columns] == ["column_1", "column_2"]
    assert table.row_count == 2


def test_skip_rows_and_header_options(tmp_path: Path) -> None:
    text = "titel\n\nx;y\n1;2\n"
    result = run(text.encode(), "o.csv", tmp_path, skip_rows=3, header=False)
    assert table_of(result).to_pylist() == [{"column_1": 1, "column_2": 2}]


def test_names_kept_as_published_with_sql_aliases(tmp_path: Path) -> None:
    text = "Län;Län; select ;2019;;Övrigt per elev (kr)\n1;2;3;4;5;6\n"
    table = only_table(run(text.encode(), "n.csv", tmp_path))
    assert [c.name for c in table.columns] == [
        "Län",
        "Län_2",
        "select",
        "2019",
        "column_5",
        "Övrigt per elev (kr)",
    ]
    assert [c.alias for c in table.columns] == [
        "lan",
        "lan_2",
        "select_",
        "c_2019",
        "column_5",
        "ovrigt_per_elev_kr",
    ]


def test_single_column_file(tmp_path: Path) -> None:
    table = only_table(run(b"namn\nAle\nBor\xc3\xa5s\n\nUme\xc3\xa5\n", "s.csv", tmp_path))
    assert (table.row_count, len(table.columns)) == (3, 1)


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    table = only_table(run(b"a;b;c\n", "h.csv", tmp_path))
    assert table.row_count == 0 and [c.name for c in table.columns] == ["a", "b", "c"]


def test_prose_text_file_is_opaque(tmp_path: Path) -> None:
    result = run(b"Det var en g\xc3\xa5ng.\nEn rad till.\n", "readme.txt", tmp_path)
    assert result.tables == [] and result.opaque is not None
    assert result.opaque.media_type == "text/plain"


def test_progress_reports_bytes_read(tmp_path: Path) -> None:
    from ingest.normalise import normalise
    from tests.ingest.test_normalise_support import opener

    data = b"a;b\n" + b"1;2\n" * 500_000
    seen: list[int] = []
    normalise(opener(data), filename="p.csv", work_dir=tmp_path, progress=seen.append)
    assert seen and max(seen) == len(data)
