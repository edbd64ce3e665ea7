"""The personal-data scan: detectors, false positives, masking, streaming and real files.

Identity numbers are generated here with a Luhn helper (serials in the 98x range, the style of
the Swedish Tax Agency's test numbers) instead of hard-coding anybody's real number.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from validation.personal_data import (
    BANKGIRO,
    COLUMN_NAME_HINT,
    EMAIL,
    IBAN,
    PERSONNUMMER,
    PHONE_SE,
    SAMORDNINGSNUMMER,
    Finding,
    PersonalDataReport,
    column_name_hint,
    mask_value,
    scan_parquet,
    scan_table,
)

TODAY = date(2025, 6, 1)  # fixes the century of 10-digit numbers
REPO = Path(__file__).resolve().parents[2]
# CI clones the repository next to shared/, as on the development machines.
REALWORLD = REPO.parent / "shared" / "data" / "realworld"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    return body + next(d for d in "0123456789" if luhn_ok(body + d))


def pnr(yymmdd: str, serial: str = "982", sep: str = "-", century: str = "") -> str:
    """A Luhn-valid identity number; the check digit covers the 10-digit form only."""
    full = with_check_digit(yymmdd + serial)
    return f"{century}{full[:6]}{sep}{full[6:]}"


def bankgiro(body: str) -> str:
    number = with_check_digit(body)
    return f"{number[:-4]}-{number[-4:]}"


def wrong_check(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def scan(values: Sequence[str | None], name: str = "value") -> PersonalDataReport:
    return scan_table(pa.table({name: pa.array(values, pa.string())}), today=TODAY)


def types_found(report: PersonalDataReport, *confidence: str) -> set[str]:
    wanted = confidence or ("high", "medium", "low")
    return {f.type for f in report.findings if f.confidence in wanted}


def finding(report: PersonalDataReport, kind: str, column: str = "value") -> Finding:
    (found,) = [f for f in report.findings if f.type == kind and f.column == column]
    return found


# --- personnummer and samordningsnummer ----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "example"),
    [
        (pnr("811218"), "811218-****"),
        (pnr("811218", sep=""), "811218****"),
        (pnr("811218", century="19"), "19811218-****"),
        (pnr("811218", sep="", century="19"), "19811218****"),
        (pnr("070101", sep="", century="20"), "20070101****"),
        (f"Patienten {pnr('540315')} skrevs ut.", "540315-****"),
    ],
)
def test_personnummer_forms(number: str, example: str) -> None:
    report = scan([number])
    found = finding(report, PERSONNUMMER)
    assert (found.count, found.examples, found.confidence) == (1, (example,), "high")
    assert report.requires_review


@pytest.mark.parametrize("number", [pnr("811218"), pnr("811218", sep="", century="19")])
def test_wrong_check_digit_is_not_a_personnummer(number: str) -> None:
    report = scan([wrong_check(number)])
    assert report.findings == ()
    assert not report.requires_review


@pytest.mark.parametrize(
    "number",
    [
        pnr("811318"),  # month 13
        pnr("810230"),  # 30 February
        pnr("300101", sep="", century="20"),  # born in 2030
    ],
)
def test_impossible_birth_dates_are_not_personnummer(number: str) -> None:
    assert scan([number]).findings == ()


def test_plus_separator_means_a_hundred_years_or_older() -> None:
    # 29 February exists in 2000 ("-": under 100) but not in 1900 ("+": 100 or older).
    assert PERSONNUMMER in types_found(scan([pnr("000229", sep="-")]))
    assert scan([pnr("000229", sep="+")]).findings == ()
    # 1 July 2025 lies ahead of TODAY, so "-" means 1925; "+" would mean 1825: nobody alive.
    assert PERSONNUMMER in types_found(scan([pnr("250701", sep="-")]))
    assert scan([pnr("250701", sep="+")]).findings == ()
    found = finding(scan([pnr("200101", sep="+")]), PERSONNUMMER)
    assert found.examples == ("200101+****",)


def test_samordningsnummer_has_day_plus_sixty() -> None:
    report = scan([pnr("811278"), pnr("811278", sep="", century="19")])
    found = finding(report, SAMORDNINGSNUMMER)
    assert (found.count, found.confidence) == (2, "high")
    assert found.examples == ("811278-****", "19811278****")
    assert PERSONNUMMER not in types_found(report)
    assert scan([wrong_check(pnr("811278"))]).findings == ()


def test_organisationsnummer_is_not_a_personnummer() -> None:
    # 556036-0793 passes Luhn like a personnummer; its "month" 60 is what tells them apart.
    assert luhn_ok("5560360793")
    report = scan(["556036-0793", "5560360793", "16556036-0793", "Org.nr 556036-0793"])
    assert report.findings == ()


def test_personnummer_stored_as_numbers() -> None:
    numbers = [int(pnr("811218", sep="", century="19")), int(pnr("450601", sep="", century="19"))]
    table = pa.table(
        {
            "id": pa.array([*numbers, None], pa.int64()),
            # pandas writes a nullable integer column as float64 with NaN
            "as_float": pa.array([float(n) for n in numbers] + [float("nan")], pa.float64()),
            # a 10-digit number born 2000-2009 loses its leading zero as an integer
            "short": pa.array([int(pnr("050505", sep="")), 12, None], pa.int64()),
            "uint": pa.array([*numbers, 2**64 - 1], pa.uint64()),
            "dec": pa.array([*numbers, None], pa.decimal128(20, 0)),
        }
    )
    report = scan_table(table, today=TODAY)
    counts = {f.column: (f.count, f.confidence) for f in report.findings if f.type == PERSONNUMMER}
    assert counts == {
        "id": (2, "high"),
        "as_float": (2, "high"),
        "short": (1, "high"),
        "uint": (2, "high"),
        "dec": (2, "high"),
    }
    assert finding(report, PERSONNUMMER, "short").examples == ("050505****",)


def test_chance_luhn_matches_in_an_id_column_are_low_confidence() -> None:
    # About 7 % of random 10-digit numbers carry a possible birth date, a tenth of those pass
    # Luhn: a few hundred "personnummer" here, but far below the share a real column has.
    rng = random.Random(7)
    ids = [rng.randrange(10**9, 10**10) for _ in range(5000)]
    report = scan_table(pa.table({"order_id": pa.array(ids, pa.int64())}), today=TODAY)
    assert types_found(report, "high", "medium") == set()
    assert finding(report, PERSONNUMMER, "order_id").count > 10
    assert not report.requires_review


def test_name_hint_with_weak_values_requires_review() -> None:
    rng = random.Random(3)
    ids = [str(rng.randrange(10**9, 10**10)) for _ in range(3000)]
    report = scan(ids, name="personnummer")
    assert types_found(report, "high", "medium") == set()
    assert {PERSONNUMMER, COLUMN_NAME_HINT} <= types_found(report, "low")
    assert report.requires_review  # a column called personnummer whose values look like some


def test_bare_mobile_numbers_are_phones_and_bare_personnummer_are_not() -> None:
    rng = random.Random(11)
    phones = [f"07{rng.choice('02369')}{rng.randrange(10**7):07d}" for _ in range(2000)]
    report = scan(phones)
    assert finding(report, PHONE_SE).count == 2000
    assert PERSONNUMMER not in types_found(report, "high", "medium")
    # Children born 2007 written without separator start like a mobile number (070...).
    children = [pnr(f"0701{day:02d}", serial=f"98{day % 10}", sep="") for day in range(1, 29)]
    report = scan(children)
    assert finding(report, PERSONNUMMER).count == 28
    assert PHONE_SE not in types_found(report)


# --- e-mail, phone, IBAN, bankgiro ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "example"),
    [
        ("anna.svensson@example.se", "a***@example.se"),
        ("Kontakt: Per+lista@sub.example.org.", "P***@sub.example.org"),
        ("<gösta@exempel.nu>", "g***@exempel.nu"),
    ],
)
def test_email(text: str, example: str) -> None:
    found = finding(scan([text]), EMAIL)
    assert (found.examples, found.confidence) == ((example,), "medium")


@pytest.mark.parametrize("text", ["user@localhost", "icon@2x.png", "a..b@example.org", "a @ b.se"])
def test_not_email(text: str) -> None:
    assert scan([text]).findings == ()


@pytest.mark.parametrize(
    ("text", "example"),
    [
        ("070-123 45 67", "070-*** ** 67"),
        ("0701234567", "070*****67"),
        ("070 123 45 67", "070 *** ** 67"),
        ("+46 70 123 45 67", "+46 70 *** ** 67"),
        ("+46701234567", "+4670*****67"),
        ("0046 70-123 45 67", "0046 70-*** ** 67"),
        ("08-123 456 78", "08-*** *** 78"),
        ("08 123 45 67", "08 *** ** 67"),
        ("+46 (0)8-123 456 78", "+46 (0)8-*** *** 78"),
        ("031-12 34 56", "031-** ** 56"),
        ("0451-123 45", "0451-*** 45"),
        ("Ring 070-123 45 67 efter kl. 17.", "070-*** ** 67"),
        ("tel: 08-123 45 67, fax: -", "08-*** ** 67"),
    ],
)
def test_phone_forms(text: str, example: str) -> None:
    found = finding(scan([text]), PHONE_SE)
    assert (found.count, found.examples, found.confidence) == (1, (example,), "medium")


@pytest.mark.parametrize(
    "text",
    [
        "2015",  # year
        "123 45",  # postal code
        "114 18 Stockholm",
        "1 234 567",  # amount
        "12 070 456 789",  # amount that contains a mobile-like run
        "2015-01-01",  # dates
        "01-01-2015",
        "08-01-2015",
        "1961-01-01 06:00:00",
        "-3,2",  # temperature
        "0180",  # kommun code
        "0123456789",  # zero-padded id: bare, not a mobile number
        "08-12 13-17",  # opening hours
        "556036-0793",  # organisationsnummer
        "0,0701234567",
        "070-123 45 67 89",  # too long to be one number
        "978-91-7054-123-4",  # ISBN
    ],
)
def test_phone_false_positives(text: str) -> None:
    assert types_found(scan([text]), "high", "medium") == set()


def test_iban() -> None:
    se_spaced = "SE45 5000 0000 0583 9825 7466"
    se_compact = se_spaced.replace(" ", "")
    gb = "GB82 WEST 1234 5698 7654 32"
    report = scan([se_spaced, se_compact, f"Betala till {gb} senast", "IBAN SE45 5000 0000 0583"])
    found = finding(report, IBAN)
    assert (found.count, found.confidence) == (3, "high")
    assert found.examples == ("SE45 **** **** **** **** 7466", "GB82 **** **** **** **54 32")
    wrong = se_compact[:2] + "46" + se_compact[4:]
    assert scan([wrong, se_compact + "1", "XX45" + se_compact[4:]]).findings == ()


def test_bankgiro() -> None:
    valid = [bankgiro("505010"), bankgiro("5050105"), f"Bankgiro {bankgiro('1234567')}"]
    found = finding(scan(valid), BANKGIRO)
    assert (found.count, found.confidence) == (3, "medium")
    assert all(re.fullmatch(r"\*{3,4}-\*\*[0-9]{2}", e) for e in found.examples)
    assert scan([wrong_check(v) for v in valid[:2]]).findings == ()
    # Periods and page ranges are not bankgiro numbers, even when one happens to pass Luhn.
    lucky = next(
        f"20{a:02d}-20{b:02d}"
        for a in range(30)
        for b in range(30)
        if luhn_ok(f"20{a:02d}20{b:02d}")
    )
    periods = [lucky, "1961-2015", "s. 1711-1718", "2018-2019"]
    assert types_found(scan(periods), "high", "medium") == set()


# --- column-name hints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Personnr", "personnummer"),
        ("person_nr", "personnummer"),
        ("PNR", "personnummer"),
        ("elevPersonnummer", "personnummer"),
        ("E-post", "email"),
        ("e-postadress", "email"),
        ("EMail", "email"),
        ("Telefon (mobil)", "phone"),
        ("tel", "phone"),
        ("phoneNumber", "phone"),
        ("Gatuadress", "address"),
        ("leveransadress", "address"),
        ("Förnamn", "name"),
        ("EFTERNAMN", "name"),
        ("first_name", "name"),
        ("kund_namn", "name"),
        ("namn", "name"),
        ("Födelsedatum", "birth-date"),
        ("fodelsedatum", "birth-date"),
        ("IBAN", "bank-account"),
    ],
)
def test_column_name_hints(name: str, category: str) -> None:
    assert column_name_hint(name) == category


@pytest.mark.parametrize(
    "name",
    ["kommunnamn", "Stationsnamn", "kommun_namn", "file_name", "hotel", "classname", "webbadress"]
    + ["Kommunkod", "Lufttemperatur", "Datum", "Data_field", "elevantal"],
)
def test_not_personal_column_names(name: str) -> None:
    assert column_name_hint(name) is None


def test_lone_namn_next_to_a_place_column_is_not_a_persons_name() -> None:
    assert column_name_hint("namn", ["kommunkod", "namn", "invanare"]) is None
    assert column_name_hint("namn", ["id_nummer", "namn"]) == "name"


def test_name_hint_alone_does_not_require_review() -> None:
    table = pa.table({"Förnamn": ["Anna", "Per"], "kommunnamn": ["Ale", "Alingsås"]})
    report = scan_table(table, today=TODAY)
    assert [(f.column, f.type, f.detail) for f in report.findings] == [
        ("Förnamn", COLUMN_NAME_HINT, "name")
    ]
    assert report.has_findings and not report.requires_review


# --- masking and the report ----------------------------------------------------------------

SECRETS = {
    "pnr": pnr("811218", century="19"),
    "pnr10": pnr("540315", sep=""),
    "sam": pnr("811278"),
    "email": "anna.svensson@example.se",
    "phone": "070-123 45 67",
    "iban": "SE45 5000 0000 0583 9825 7466",
    "bankgiro": bankgiro("5050105"),
}


def test_full_values_never_appear_in_the_report() -> None:
    table = pa.table({k: [f"x {v} y", v] for k, v in SECRETS.items()})
    report = scan_table(table, today=TODAY)
    assert {f.type for f in report.findings} >= {PERSONNUMMER, SAMORDNINGSNUMMER, EMAIL}
    assert {f.type for f in report.findings} >= {PHONE_SE, IBAN, BANKGIRO}
    rendered = [repr(report), str(report), report.to_json()]
    for value in SECRETS.values():
        for form in {value, re.sub(r"[ +-]", "", value)}:
            assert all(form not in text for text in rendered), form
    serials = [v[-4:] for k, v in SECRETS.items() if k in ("pnr", "pnr10", "sam")]
    assert all(f"-{s}" not in report.to_json() for s in serials)


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (PERSONNUMMER, "19811218-9876", "19811218-****"),
        (SAMORDNINGSNUMMER, "811278-1234", "811278-****"),
        (EMAIL, "anna@example.se", "a***@example.se"),
        (PHONE_SE, "070-123 45 67", "070-*** ** 67"),
        (IBAN, "se4550000000058398257466", "SE45 **** **** **** **** 7466"),
        (BANKGIRO, "5050-1055", "****-**55"),
        (PERSONNUMMER, 198112189876, "19811218****"),
        (PERSONNUMMER, "not a number 42", "*** * ****** **"),  # does not parse: all masked
        (IBAN, "198112189876", "************"),  # not IBAN-shaped: its last four stay hidden
        (PHONE_SE, "811218-9876", "******-****"),
        ("something-else", "Anna Svensson", "**** ********"),
    ],
)
def test_mask_value(kind: str, value: object, masked: str) -> None:
    assert mask_value(kind, value) == masked


def test_value_mask_hides_flagged_columns_for_other_reports() -> None:
    table = pa.table(
        {
            "kontakt": [{"epost": SECRETS["email"]}],
            "personnr": [int(SECRETS["pnr"].replace("-", ""))],
            "Förnamn": ["Anna"],
            "kommun": ["Ale"],
        }
    )
    mask = scan_table(table, today=TODAY).value_mask()
    assert mask("kontakt", SECRETS["email"]) == "a***@example.se"
    assert mask("personnr", table["personnr"][0].as_py()) == "19811218****"
    assert mask("Förnamn", "Anna") == "****"  # a name hint alone still hides the values
    assert (mask("kommun", "Ale"), mask("personnr", None)) == ("Ale", None)


def test_json_round_trip() -> None:
    table = pa.table({k: [v] for k, v in SECRETS.items()} | {"E-post": ["x"]})
    report = scan_table(table, today=TODAY)
    again = PersonalDataReport.from_json(report.to_json())
    assert again == report
    assert again.requires_review


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"format": "something else", "version": 1}',
        '{"format": "datahamn.personal-data-report", "version": 1, "findings": "no"}',
        '{"format": "datahamn.personal-data-report", "version": 1, "rows_scanned": 1, '
        '"columns_scanned": [], "findings": [{"column": "a", "type": "secret", "count": 1, '
        '"rows_scanned": 1, "examples": [], "confidence": "high"}]}',
    ],
)
def test_from_json_rejects_malformed_reports(text: str) -> None:
    with pytest.raises(ValueError):
        PersonalDataReport.from_json(text)


# --- streaming -----------------------------------------------------------------------------


def _mixed_table() -> pa.Table:
    rng = random.Random(5)
    rows = 300
    pool = [*SECRETS.values(), "2015-01-01", "123 45", "inget", None, "2009-2013"]
    return pa.table(
        {
            "text": [rng.choice(pool) for _ in range(rows)],
            "ids": pa.array([rng.randrange(10**11, 10**12) for _ in range(rows)], pa.int64()),
            "bare": [rng.choice([pnr("811218", sep=""), "0701234567", "x"]) for _ in range(rows)],
            "kontakt": pa.array(
                [{"epost": rng.choice([SECRETS["email"], None]), "n": i} for i in range(rows)]
            ),
            "telefoner": [[SECRETS["phone"]] * (i % 3) for i in range(rows)],
            "kategori": pa.array(
                [rng.choice(["a", SECRETS["pnr"]]) for _ in range(rows)]
            ).dictionary_encode(),
            "attribut": pa.array(
                [[("mail", SECRETS["email"])] if i % 2 else [] for i in range(rows)],
                pa.map_(pa.string(), pa.string()),
            ),
        }
    )


def test_batch_size_does_not_change_the_result() -> None:
    table = _mixed_table()
    whole = scan_table(table, today=TODAY)
    assert whole.rows_scanned == 300
    assert {f.column for f in whole.findings} >= {"kontakt.epost", "telefoner[]", "kategori"}
    assert "attribut[].value" in {f.column for f in whole.findings}
    for batch_size in (7, 300 // 2):
        assert scan_table(table, batch_size=batch_size, today=TODAY) == whole
    head = table.slice(0, 60)  # one row per batch costs a compute call per column and row
    assert scan_table(head, batch_size=1, today=TODAY) == scan_table(head, today=TODAY)


def test_parquet_file_streams_like_the_table(tmp_path: Path) -> None:
    table = _mixed_table()
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=70)
    in_memory = scan_table(table, today=TODAY)
    assert scan_parquet(path, batch_size=33, today=TODAY) == in_memory
    assert scan_parquet(str(path), today=TODAY) == in_memory
    sampled = scan_parquet(path, batch_size=33, sample_rows=50, today=TODAY)
    assert (sampled.rows_scanned, sampled.rows_total) == (50, 300)
    assert sampled.findings == scan_table(table.slice(0, 50), today=TODAY).findings


def test_parquet_without_scannable_columns_still_counts_rows(tmp_path: Path) -> None:
    path = tmp_path / "dates.parquet"
    pq.write_table(pa.table({"fodelsedatum": pa.array([date(2000, 1, 1)] * 5)}), path)
    report = scan_parquet(path, today=TODAY)
    assert (report.rows_scanned, report.columns_scanned) == (5, ())
    assert [f.detail for f in report.findings] == ["birth-date"]


def test_invalid_options() -> None:
    with pytest.raises(ValueError):
        scan_table(pa.table({"a": ["x"]}), batch_size=0)


# --- real public files (no personal data in them) ------------------------------------------


def _realworld() -> Path:
    if not REALWORLD.is_dir():
        pytest.fail(f"expected the shared test data at {REALWORLD} (the repo's ../shared)")
    return REALWORLD


def _read_delimited(path: Path, encoding: str, delimiter: str, header: str) -> pa.Table:
    """Just enough of a reader for these exports: skip the preamble up to the header line,
    stop at the first blank line, pad ragged rows; integer-looking columns become int64 and
    decimal ones float64 so that the numeric path is exercised too."""
    lines = path.read_text(encoding=encoding).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = list(csv.reader(lines[start:], delimiter=delimiter))
    names = [name or f"column_{i}" for i, name in enumerate(rows[0])]
    body = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            break
        body.append(row + [""] * (len(names) - len(row)))
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(names):
        values = [row[i] or None for row in body]
        present = [v for v in values if v is not None]
        if present and all(re.fullmatch(r"-?[0-9]+", v) for v in present):
            columns[name] = pa.array([None if v is None else int(v) for v in values])
        elif present and all(re.fullmatch(r"-?[0-9]+\.[0-9]+", v) for v in present):
            columns[name] = pa.array([None if v is None else float(v) for v in values])
        else:
            columns[name] = pa.array(values, pa.string())
    return pa.table(columns)


REALWORLD_FILES = [
    ("smhi_boras_lufttemperatur_1961-2015.csv", "utf-8-sig", ";", "Datum;", 53174),
    ("scb_pxweb_elproduktion_kommun_2009-2013_latin1.csv", "latin-1", ",", '"region"', 9984),
    ("skolverket_kostnader_grundskola_2024_kommun.csv", "utf-8-sig", ";", "Kommun;", 290),
    ("smhi_shark_codelist_cp1252.txt", "cp1252", "\t", "Data_field", 1281),
]


@pytest.mark.parametrize(("name", "encoding", "delimiter", "header", "rows"), REALWORLD_FILES)
def test_public_statistics_have_no_personal_data(
    name: str, encoding: str, delimiter: str, header: str, rows: int
) -> None:
    table = _read_delimited(_realworld() / name, encoding, delimiter, header)
    assert table.num_rows == rows
    for text_only in (False, True):
        if text_only:  # the same values as strings, the way a lenient reader would keep them
            table = pa.table({n: table[n].cast(pa.string()) for n in table.column_names})
        report = scan_table(table, today=TODAY)
        assert [f for f in report.findings if f.confidence != "low"] == []
        assert not report.requires_review


def test_nested_parquet_from_apache_parquet_testing() -> None:
    report = scan_parquet(_realworld() / "parquet_testing_nullable.impala.parquet")
    assert report.rows_scanned == 7
    assert {"int_map[].key", "nested_struct.C.d[][].F"} <= set(report.columns_scanned)
    assert not report.requires_review
