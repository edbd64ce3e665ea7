"""Excel .xlsx: each non-empty worksheet a table, rows streamed by openpyxl's read-only mode.

Cells keep Excel's own types (numbers, dates, booleans). A number whose format pads it
with zeros (``0000``) or marks it as text (``@``) becomes the text Excel shows, so kommun
code 0180 stays ``"0180"``. Columns of text cells go through the same rules as CSV text
(``coltypes``: ``302 227`` is a number, ``0114`` a code). Missing markers (``..``) and error
cells (``#N/A``) are null. Preamble rows and the header are found as in CSV (``sniff``); a
single-cell row after a blank row ends the table (a note such as "Källa: SCB").
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]

from ingest.errors import IngestError, Location
from ingest.options import FormatOptions
from ingest.readers.archives import ZipArchive
from ingest.readers.excel_types import ExcelPlan, render
from ingest.readers.passes import TwoPhaseWriter
from ingest.readers.sink import WrittenTable, column_names, unnamed_note
from ingest.readers.sniff import locate_table, looks_like_data, preamble_text

SNIFF_ROWS = 500
BLOCK_ROWS = 10_000
_ZERO_PADDED = re.compile(r"0{2,}")


def cell_value(cell: Any) -> Any:
    value = cell.value
    if value is None or getattr(cell, "data_type", None) == "e":
        return None
    if isinstance(value, bool | str | dt.datetime):
        return value
    if isinstance(value, int | float):
        fmt = getattr(cell, "number_format", None) or "General"
        integral = isinstance(value, int) or (math.isfinite(value) and value.is_integer())
        if fmt == "@":
            return render(value)
        if integral and _ZERO_PADDED.fullmatch(fmt):
            return str(int(value)).zfill(len(fmt))
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return str(value)  # times and durations: as Excel shows them


@dataclass
class ExcelBlock:
    columns: list[list[Any]]
    lines: list[int]
    rows: int

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if 0 <= index < len(self.lines) else None


@dataclass
class SheetLayout:
    skip_rows: int
    header: bool
    data_start: int
    names: list[str]
    warnings: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)


def _layout(sheet: Any, options: FormatOptions, where: Location) -> SheetLayout | None:
    sample: list[list[Any]] = []
    for row in sheet.iter_rows(max_row=SNIFF_ROWS + (options.skip_rows or 0)):
        sample.append([cell_value(c) for c in row])
    skip = options.skip_rows or 0
    rows = sample[skip:]
    effs = []
    for values in rows:
        filled = [i for i, v in enumerate(values) if v is not None and render(v).strip()]
        effs.append(filled[-1] + 1 if filled else 0)
    if not any(effs):
        return None
    if options.skip_rows is None:
        first, _ = locate_table([(e, e) for e in effs])
    else:
        first = next(i for i, e in enumerate(effs) if e)
    width = max(effs[first:])
    limit = options.limits.max_columns
    if width > limit:
        raise IngestError(
            "too-many-columns",
            f"the sheet has {width:,} columns; at most {limit:,} (limits.max_columns)",
            Location(**{**where.to_dict(), "line": skip + first + 1}),
        )
    cells = [render(v).strip() if v is not None else "" for v in rows[first][:width]]
    header = options.header if options.header is not None else not looks_like_data(cells)
    names = cells if header else []
    names += [""] * (width - len(names))
    start = skip + first + 1  # 1-based row number of the header / first data row
    warnings = [f"{start - 1} row(s) above the table skipped (preamble)"] if start > 1 else []
    above = [" ".join(render(v) for v in row if v is not None) for row in sample[: start - 1]]
    return SheetLayout(
        start - 1, header, start + 1 if header else start, names, warnings, preamble_text(above)
    )


class ExcelSource:
    def __init__(self, sheet: Any, layout: SheetLayout, options: FormatOptions) -> None:
        self._sheet = sheet
        self._layout = layout
        self._options = options
        self.warnings: list[str] = []

    def __iter__(self) -> Iterator[ExcelBlock]:
        width = len(self._layout.names)
        half = max(1, math.ceil(width / 2))
        rows = 0
        after_blank = False
        ended: int | None = None
        after_end = table_like = ragged = errors = 0
        block = ExcelBlock([[] for _ in range(width)], [], 0)
        start = self._layout.data_start
        for index, row in enumerate(self._sheet.iter_rows(min_row=start), start=start):
            values = [cell_value(c) for c in row]
            errors += sum(1 for c in row if getattr(c, "data_type", None) == "e")
            filled = [i for i, v in enumerate(values) if v is not None and render(v).strip()]
            if not filled:
                after_blank = rows > 0
                continue
            if ended is not None:
                after_end += 1
                table_like += len(filled) >= half
                continue
            if after_blank and len(filled) <= 1 and width >= 3:
                ended, after_end = index, 1
                continue
            after_blank = False
            if filled[-1] >= width:
                ragged += 1
            for i in range(width):
                block.columns[i].append(values[i] if i < len(values) else None)
            block.lines.append(index)
            block.rows += 1
            rows += 1
            if block.rows >= BLOCK_ROWS:
                yield block
                block = ExcelBlock([[] for _ in range(width)], [], 0)
        if block.rows:
            yield block
        self.warnings = []
        if ended is not None:
            self.warnings.append(
                f"the table ends at the blank row before row {ended:,}; {after_end:,} row(s)"
                " below it (notes) were not loaded"
            )
            if table_like > 10:
                self.warnings.append(
                    f"{table_like:,} of the rows below row {ended:,} look like table rows:"
                    " is a second table on the sheet? Set options.skip_rows to load it"
                )
        if ragged:
            self.warnings.append(
                f"{ragged:,} row(s) have values right of the table's {width} columns; dropped"
            )
        if errors:
            self.warnings.append(f"{errors:,} error cell(s) (#N/A, #DIV/0!, ...) read as null")


def read_excel(
    path: Path,
    *,
    options: FormatOptions,
    where: Location,
    next_path: Callable[[], Path],
) -> list[WrittenTable]:
    ZipArchive(path, options.limits, where).close()  # bomb and path checks on the package
    # A file object, not the path: openpyxl refuses paths without an .xlsx suffix.
    handle = path.open("rb")
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken package
        handle.close()
        raise IngestError("invalid-excel", f"the workbook cannot be read ({exc})", where) from None
    try:
        names = [ws.title for ws in book.worksheets]
        if options.sheet is not None and options.sheet not in names:
            raise IngestError(
                "invalid-options",
                f"no sheet named {options.sheet!r}; the sheets are {', '.join(names)}",
                where,
            )
        tables = []
        for title in [options.sheet] if options.sheet is not None else names:
            sheet_where = Location(**{**where.to_dict(), "member": f"sheet {title}"})
            table = _read_sheet(book[title], title, options, sheet_where, next_path)
            if table is not None:
                tables.append(table)
        if not tables:
            raise IngestError("empty-file", "every sheet of the workbook is empty", where)
        return tables
    finally:
        book.close()
        handle.close()


def _read_sheet(
    sheet: Any, title: str, options: FormatOptions, where: Location, next_path: Callable[[], Path]
) -> WrittenTable | None:
    layout = _layout(sheet, options, where)
    if layout is None:
        return None
    names, name_warnings = column_names(layout.names)
    plan = ExcelPlan(layout.names, names, options, where)
    out_path = next_path()
    writer = TwoPhaseWriter(
        lambda: ExcelSource(sheet, layout, options),
        plan,
        out_path,
        budget=options.limits.inference_bytes,
    )
    rows, schema = writer.run()
    dropped = plan.dropped()
    notes = [f"empty unnamed column(s) dropped: {', '.join(dropped)}"] if dropped else []
    notes += unnamed_note(layout.names, names, dropped)
    return WrittenTable(
        name=title,
        path=out_path,
        row_count=rows,
        schema=schema,
        source_format="xlsx",
        options_used=options.with_(
            sheet=title, skip_rows=layout.skip_rows, header=layout.header, format="xlsx"
        ),
        warnings=layout.warnings + name_warnings + notes + writer.warnings,
        preamble=layout.preamble,
    )
