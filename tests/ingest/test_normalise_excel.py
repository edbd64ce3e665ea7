"""Excel .xlsx: each sheet a table, preamble rows, codes with leading zeros stay text."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]

from tests.ingest.test_normalise_support import fails, only_table, run, types


def _book() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Kommuner"
    sheet.append(["Befolkning per kommun"])  # a title and a source line above the table
    sheet.append(["Källa: SCB"])
    sheet.append([])
    sheet.append(["Kod", "Kommun", "Invånare", "Andel", "Datum", "Text-tal", "Aktiv"])
    sheet.append([180, "Stockholm", 984_748, 0.5, dt.date(2024, 1, 1), "1 234", True])
    sheet["A5"].number_format = "0000"  # shown as 0180
    sheet.append(["0114", "Upplands Väsby", "..", 1, dt.date(2024, 1, 2), "56", False])
    sheet.append([1480, "Göteborg", 604_616, 0.25, dt.datetime(2024, 1, 3), "7 890", None])
    sheet.append([])
    sheet.append(["Anm: preliminära siffror"])  # a note under the table
    other = book.create_sheet("Tider")
    other.append(["Tid", "Värde"])
    other.append([dt.datetime(2024, 5, 1, 12, 30), 1.5])
    other.append([dt.datetime(2024, 5, 1, 13, 0), 2])
    book.create_sheet("Tom")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_each_sheet_is_a_table(tmp_path: Path) -> None:
    result = run(_book(), "befolkning.xlsx", tmp_path)
    assert [t.name for t in result.tables] == ["Kommuner", "Tider"]  # the empty sheet: none
    kommuner, tider = result.tables
    assert kommuner.source_format == "xlsx"
    assert kommuner.options_used.sheet == "Kommuner" and kommuner.options_used.skip_rows == 3
    assert kommuner.preamble == ["Befolkning per kommun", "Källa: SCB"]
    assert types(kommuner) == {
        "Kod": "string",
        "Kommun": "string",
        "Invånare": "int64",
        "Andel": "double",
        "Datum": "date32[day]",
        "Text-tal": "int64",
        "Aktiv": "bool",
    }
    import pyarrow.parquet as pq

    rows = pq.read_table(kommuner.parquet_path).to_pylist()
    assert [r["Kod"] for r in rows] == ["0180", "0114", "1480"]
    assert [r["Invånare"] for r in rows] == [984_748, None, 604_616]
    assert [r["Text-tal"] for r in rows] == [1_234, 56, 7_890]
    assert rows[2]["Kommun"] == "Göteborg"
    assert any("notes" in w for w in kommuner.warnings)
    assert types(tider) == {"Tid": "timestamp[us]", "Värde": "double"}
    assert tider.row_count == 2


def test_one_sheet_by_name(tmp_path: Path) -> None:
    result = run(_book(), "b.xlsx", tmp_path, sheet="Tider")
    assert only_table(result).name == "Tider"
    err = fails(_book(), "b.xlsx", tmp_path / "err", "invalid-options", sheet="Saknas")
    assert "Kommuner" in err.message


def test_mixed_column_is_text_as_excel_shows_it(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Värde", "N"])
    for value in (1, "två", 3.5, dt.date(2024, 1, 1)):
        sheet.append([value, 1])
    buffer = io.BytesIO()
    book.save(buffer)
    result = run(buffer.getvalue(), "m.xlsx", tmp_path)
    import pyarrow.parquet as pq

    table = pq.read_table(only_table(result).parquet_path)
    assert table.column("Värde").to_pylist() == ["1", "två", "3.5", "2024-01-01"]


def test_empty_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    fails(buffer.getvalue(), "tom.xlsx", tmp_path, "empty-file")


def test_broken_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<nope/>")
        archive.writestr("xl/workbook.xml", "<broken")
    fails(buffer.getvalue(), "trasig.xlsx", tmp_path, "invalid-excel")
