"""Column types for text values, decided and applied with vectorised Arrow kernels.

Rules (all values of a column, after trimming, missing markers set aside):

- ``integer``: optional sign, no leading zero (``0180`` is a code and stays text), at most
  18 digits, optionally grouped in threes by a space, NBSP or narrow NBSP (``302 227``).
- ``number``: the same with a decimal part, decimal point *or* decimal comma, never both
  in one column (``-3,2``); an exponent is allowed. Stored as float64.
- ``date``: ISO ``YYYY-MM-DD`` that is a real date. Stored as date32.
- everything else, and columns mixing the above, stay ``string``.

Missing markers (``..``, ``-``, ``…``, empty; ``FormatOptions.missing_values``) become null
in typed columns. In text columns only empty and blank values become null: ``-`` may be a
real code there, and the text is kept as published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ingest.options import FormatOptions
from ingest.readers.passes import Misfit

INTEGER, POINT, COMMA, DATE, STRING, EMPTY = "integer", "point", "comma", "date", "string", "empty"
ARROW_TYPES = {
    INTEGER: pa.int64(),
    POINT: pa.float64(),
    COMMA: pa.float64(),
    DATE: pa.date32(),
    STRING: pa.string(),
    EMPTY: pa.string(),
}
LineOf = Callable[[int], int | None]  # row index in a block -> line number in the file
_SPACES = "[ \u00a0\u202f]"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _patterns(options: FormatOptions) -> dict[str, str]:
    thousands = options.thousands
    group = _SPACES if thousands is None else ("" if thousands == "" else f"[{thousands}]")
    plain = "(?:0|[1-9][0-9]{0,17})"
    intpart = f"(?:{plain}|[1-9][0-9]{{0,2}}(?:{group}[0-9]{{3}}){{1,5}})" if group else plain
    out = {INTEGER: f"^[+-]?{intpart}$"}
    for kind, sep in ((POINT, r"\."), (COMMA, ",")):
        if options.decimal not in (None, sep[-1]) or thousands == sep[-1]:
            continue
        out[kind] = f"^[+-]?(?:{intpart}(?:{sep}[0-9]+)?|{sep}[0-9]+)(?:[eE][+-]?[0-9]{{1,3}})?$"
    out[DATE] = _DATE
    return out


@dataclass
class TextColumn:
    """Evidence for one column: which kinds every value seen so far fits."""

    alive: set[str]
    seen: bool = False
    forced: str | None = None

    def kind(self) -> str:
        if self.forced:
            return self.forced
        if not self.seen:
            return EMPTY
        for kind in (INTEGER, POINT, COMMA, DATE):
            if kind in self.alive:
                return kind
        return STRING


class TextTyper:
    """Observe chunks of string arrays per column; convert them once kinds are decided."""

    def __init__(self, options: FormatOptions) -> None:
        self.options = options
        self.patterns = _patterns(options)
        self.missing = pa.array(sorted(set(options.missing_values)), pa.string())
        # The characters a digit-group separator may be (none when grouping is off).
        self._group_chars = (
            (" ", "\u00a0", "\u202f") if options.thousands is None else tuple(options.thousands)
        )

    def column(self, forced: str | None = None) -> TextColumn:
        kind = {"string": STRING, "integer": INTEGER, "date": DATE}.get(forced or "")
        if forced == "number":
            kind = COMMA if self.options.decimal == "," else POINT
        return TextColumn(alive=set(self.patterns), forced=kind)

    def _present(self, arr: pa.Array) -> tuple[pa.Array, pa.Array]:
        """(trimmed values, mask of values that are not missing)."""
        trimmed = pc.utf8_trim_whitespace(arr.fill_null(""))
        return trimmed, pc.invert(pc.is_in(trimmed, value_set=self.missing))

    def observe(self, col: TextColumn, arr: pa.Array) -> None:
        if col.forced or (col.seen and not col.alive):
            return
        trimmed, present = self._present(arr)
        values = trimmed.filter(present)
        if len(values) == 0:
            return
        col.seen = True
        head = values.slice(0, 1024)
        for kind in list(col.alive):
            pattern = self.patterns[kind]
            # Text columns fail on their first values: test those before all of them.
            if not pc.all(pc.match_substring_regex(head, pattern)).as_py() or (
                len(values) > len(head)
                and not pc.all(pc.match_substring_regex(values, pattern)).as_py()
            ):
                col.alive.discard(kind)
            elif kind == DATE and not _casts(values, pa.date32()):
                col.alive.discard(kind)

    def convert(self, kind: str, arr: pa.Array, name: str, line_of: LineOf) -> pa.Array:
        """``arr`` as ``kind``; ``Misfit`` names the first value that does not fit.

        Each kind first tries Arrow's cast, which is an order of magnitude faster than the
        regular expressions, then checks what the cast lets through (``0180``, ``nan``);
        only a chunk that fails takes the exact, slower path.
        """
        if kind == STRING:
            blank = pc.or_(pc.equal(arr, ""), pc.utf8_is_space(arr))
            return pc.if_else(blank, pa.scalar(None, pa.string()), arr)
        trimmed, present = self._present(arr)
        if kind == EMPTY:
            if pc.any(present).as_py():
                raise self._misfit(name, trimmed, pc.invert(present), line_of)
            return pa.nulls(len(arr), pa.string())
        values = pc.if_else(present, trimmed, pa.scalar(None, pa.string()))
        target = ARROW_TYPES[kind]
        if kind == DATE:
            try:
                return pc.cast(values, target)
            except pa.ArrowInvalid:
                return self._slow(kind, values, name, line_of)
        fast = values
        if kind == COMMA:
            if pc.any(pc.match_substring(values, ".")).as_py():
                return self._slow(kind, values, name, line_of)
            fast = pc.replace_substring(values, ",", ".")
        try:
            out = pc.cast(fast, target)
        except pa.ArrowInvalid:
            return self._slow(kind, values, name, line_of)
        if _leading_zero(values, kind == INTEGER):
            return self._slow(kind, values, name, line_of)
        if kind != INTEGER and not pc.all(pc.is_finite(out).fill_null(True)).as_py():
            return self._slow(kind, values, name, line_of)  # nan, inf
        return out

    def _slow(self, kind: str, values: pa.Array, name: str, line_of: LineOf) -> pa.Array:
        pattern = self.patterns.get(kind)
        ok = pc.match_substring_regex(values, pattern) if pattern else pc.is_valid(values)
        ok = ok.fill_null(True)
        if not pc.all(ok).as_py():
            raise self._misfit(name, values, pc.invert(ok), line_of)
        if kind == DATE:
            for i, value in enumerate(values.to_pylist()):
                if value is not None and not _casts(pa.array([value]), pa.date32()):
                    raise Misfit(name, line_of(i), value)
            return pc.cast(values, pa.date32())  # pragma: no cover - caught above
        cleaned = values
        # Literal replacements: a regular-expression replace is five times slower.
        for char in ("+", *self._group_chars):
            if pc.any(pc.match_substring(cleaned, char)).as_py():
                cleaned = pc.replace_substring(cleaned, char, "")
        if kind == COMMA:
            cleaned = pc.replace_substring(cleaned, ",", ".")
        return pc.cast(cleaned, ARROW_TYPES[kind])

    @staticmethod
    def _misfit(name: str, values: pa.Array, bad: pa.Array, line_of: LineOf) -> Misfit:
        index = pc.index(bad, True).as_py()
        if index < 0:  # pragma: no cover - callers only ask when something is bad
            return Misfit(name, None, None)
        return Misfit(name, line_of(index), values[index].as_py())


def _leading_zero(values: pa.Array, integer: bool) -> bool:
    """Whether a value that Arrow cast as a number is really a code like ``0180``."""
    size = pc.binary_length(values)
    for prefix in ("0", "-0", "+0"):
        hit = pc.and_(pc.starts_with(values, prefix), pc.greater(size, len(prefix)))
        if not pc.any(hit).as_py():
            continue
        if integer:
            return True
        # 0.5 is fine, 05.5 is not: look closer at just these values.
        if pc.any(pc.match_substring_regex(values.filter(hit), r"^[+-]?0[0-9]")).as_py():
            return True
    return False


def _casts(values: pa.Array, target: pa.DataType) -> bool:
    try:
        pc.cast(values, target)
    except pa.ArrowInvalid:
        return False
    return True
