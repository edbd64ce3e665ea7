"""Every file in shared/data/realworld becomes tables matching its real content.

SOURCES.tsv there describes each file: rows, fields, encoding, preamble.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingest.normalise import NormaliseResult
from ingest.options import FormatOptions
from tests.ingest.test_normalise_support import only_table, realworld, run, table_of, types

SMHI = "smhi_boras_lufttemperatur_1961-2015.csv"
SCB = "scb_pxweb_elproduktion_kommun_2009-2013_latin1.csv"
SHARK = "smhi_shark_codelist_cp1252.txt"
SKOLVERKET = "skolverket_kostnader_grundskola_2024_kommun.csv"
PARQUET = "parquet_testing_nullable.impala.parquet"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NormaliseResult]:
    out = {}
    for name in (SMHI, SCB, SHARK, SKOLVERKET, PARQUET):
        out[name] = run(realworld(name), name, tmp_path_factory.mktemp("work"))
    return out


def test_every_real_file_is_covered() -> None:
    listed = (realworld("SOURCES.tsv")).read_text().splitlines()[1:]
    assert {line.split("\t")[0] for line in listed if line} == {
        SMHI,
        SCB,
        SHARK,
        SKOLVERKET,
        PARQUET,
    }


def test_smhi_preamble_ragged_rows_and_types(results: dict[str, NormaliseResult]) -> None:
    table = only_table(results[SMHI])
    assert table.row_count == 53_174
    assert types(table) == {
        "Datum": "date32[day]",
        "Tid (UTC)": "string",
        "Lufttemperatur": "double",
        "Kvalitet": "string",
    }
    used = table.options_used
    assert (used.encoding, used.delimiter, used.skip_rows, used.header) == (
        "utf-8-sig",
        ";",
        9,
        True,
    )
    assert "Borås;72450;2.0" in table.preamble  # station metadata kept for the description
    warnings = " ".join(table.warnings)
    assert "extra fields dropped" in warnings and "line(s) 11, 12" in warnings
    data = pq.read_table(table.parquet_path)
    first, last = data.slice(0, 1).to_pylist()[0], data.slice(len(data) - 1).to_pylist()[0]
    assert (str(first["Datum"]), first["Tid (UTC)"], first["Lufttemperatur"]) == (
        "1961-01-01",
        "06:00:00",
        -0.5,
    )
    assert (str(last["Datum"]), last["Lufttemperatur"], last["Kvalitet"]) == (
        "2015-09-01",
        13.7,
        "G",
    )
    assert table.statistics["Kvalitet"]["nulls"] == 0


def test_scb_latin1_quoted_and_missing_markers(results: dict[str, NormaliseResult]) -> None:
    table = only_table(results[SCB])
    assert (table.row_count, len(table.columns)) == (9_984, 8)
    assert table.options_used.encoding == "latin-1"
    years = ["2009", "2010", "2011", "2012", "2013"]
    assert types(table) == {
        "region": "string",
        "produktionssätt": "string",
        "bränsletyp": "string",
        **dict.fromkeys(years, "int64"),
    }
    # SOURCES.tsv: the marker '..' stands in 8,869 numeric cells; each is now null.
    assert sum(table.statistics[y]["nulls"] for y in years) == 8_869
    assert [c.alias for c in table.columns][:4] == [
        "region",
        "produktionssatt",
        "bransletyp",
        "c_2009",
    ]
    data = table_of(results[SCB])
    regions = set(data.column("region").to_pylist())
    assert {"00 Riket", "2584 Kiruna"} <= regions
    assert "gas (förnybara)" in set(data.column("bränsletyp").to_pylist())
    first = data.slice(0, 1).to_pylist()[0]
    assert first["2009"] == 15_822_643 and first["produktionssätt"].startswith("kraftvärmeverk")


def test_shark_cp1252_tab_and_one_line_preamble(results: dict[str, NormaliseResult]) -> None:
    table = only_table(results[SHARK])
    assert (table.row_count, len(table.columns)) == (1_281, 4)
    assert table.options_used.encoding == "cp1252"
    assert table.options_used.delimiter == "\t"
    assert table.options_used.skip_rows == 1
    assert [c.name for c in table.columns] == [
        "Data_field",
        "Code",
        "Beskrivning/Svensk översättning",
        "Description/English translate",
    ]
    assert set(types(table).values()) == {"string"}
    data = table_of(results[SHARK])
    english = data.column("Description/English translate").to_pylist()
    assert "SKB – Swedish Nuclear Fuel and Waste Management Co" in english  # 0x96 en dash
    assert "5° - 14°" in english
    # Non-breaking spaces inside values survive as they are, every one of them.
    raw = realworld(SHARK).read_bytes().decode("cp1252").splitlines()[2:]
    in_file = sum(line.count("\u00a0") for line in raw)
    in_table = sum((v or "").count("\u00a0") for col in data.columns for v in col.to_pylist())
    assert in_file > 0 and in_table == in_file


def test_skolverket_spaces_in_numbers_codes_and_trailing_block(
    results: dict[str, NormaliseResult],
) -> None:
    table = only_table(results[SKOLVERKET])
    # 16 fields per line, the 16th always empty (a trailing ';'): dropped, so 15 columns.
    assert (table.row_count, len(table.columns)) == (290, 15)
    column_types = types(table)
    assert column_types["Kommunkod"] == column_types["Läns-kod"] == "string"
    numeric = [c.name for c in table.columns][5:]
    assert [column_types[n] for n in numeric] == ["int64"] * 10
    rows = {r["Kommun"]: r for r in table_of(results[SKOLVERKET]).to_pylist()}
    assert len(rows) == 290
    ale, alvesta = rows["Ale"], rows["Alvesta"]
    assert (ale["Genomsnittligt elevantal"], ale["Totalt"], ale["Undervisning"]) == (
        3_827,
        526_708,
        302_227,
    )
    assert (alvesta["Kommunkod"], alvesta["Läns-kod"]) == ("0764", "07")
    assert rows["Göteborg"]["Undervisning"] == 3_787_623
    assert rows["Övertorneå"]["Län"] == "Norrbottens län"
    warnings = " ".join(table.warnings)
    assert "before line 299" in warnings and "column_16" in warnings
    assert table.options_used.skip_rows == 6
    assert "Valt år: 2024" in table.preamble


def test_nested_parquet_passes_through(results: dict[str, NormaliseResult]) -> None:
    table = only_table(results[PARQUET])
    source = pq.read_table(realworld(PARQUET))
    assert table.row_count == 7 == source.num_rows
    assert table.arrow_schema.types == source.schema.types
    assert table.arrow_schema.names == source.schema.names
    written = pq.read_table(table.parquet_path)
    assert written.to_pylist() == source.to_pylist()
    metadata = pq.ParquetFile(table.parquet_path).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert table.statistics["id"]["min"] == 1 and table.statistics["nested_struct"] == {
        "nulls": pc.sum(pc.is_null(source.column("nested_struct"))).as_py()
    }


def test_statistics_are_json(results: dict[str, NormaliseResult]) -> None:
    for result in results.values():
        for table in result.tables:
            json.dumps(table.statistics)
            assert set(table.statistics) == {c.name for c in table.columns}


def test_options_used_reproduce_the_table(
    results: dict[str, NormaliseResult], tmp_path: Path
) -> None:
    """A spec stores options_used as JSON; next month's run with them gives the same table."""
    table = only_table(results[SMHI])
    stored = json.loads(json.dumps(table.options_used.to_dict()))
    again = run(realworld(SMHI), SMHI, tmp_path, options=FormatOptions.from_dict(stored))
    assert only_table(again).row_count == table.row_count
    assert only_table(again).arrow_schema == table.arrow_schema
