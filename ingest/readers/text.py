"""Text bytes to decoded lines: encoding detection and a streaming, bounded line splitter.

Encodings: a BOM decides (UTF-8, UTF-16); else bytes that decode as UTF-8 are UTF-8; else
cp1252 when every byte in 0x80-0x9F is a cp1252 character (Windows exports: en dash 0x96),
else Latin-1. charset-normalizer is deliberately not used: on short Swedish samples it
picks exotic code pages, and the three encodings the partners actually publish are told
apart exactly by the rules above.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from ingest.errors import IngestError, Location, excerpt

CHUNK_BYTES = 1 << 20
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


class EncodingRetry(Exception):
    """Detected UTF-8 met a non-UTF-8 byte after pure ASCII: read again in ``encoding``."""

    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


def read_head(stream: BinaryIO, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes from the start, and whether that was the whole stream."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        part = stream.read(min(CHUNK_BYTES, size - got))
        if not part:
            return b"".join(parts), True
        parts.append(part)
        got += len(part)
    return b"".join(parts), not stream.read(1)


def single_byte_guess(data: bytes) -> str:
    high = {b for b in data if 0x80 <= b <= 0x9F}
    return "cp1252" if high and not high & _CP1252_UNDEFINED else "latin-1"


def detect_encoding(head: bytes, declared: str | None, where: Location) -> tuple[str, bool]:
    """(Python codec name, auto-detected as UTF-8 from ASCII-only bytes so far)."""
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            raise IngestError(
                "unsupported-encoding", f"unknown encoding {declared!r}", where
            ) from None
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig", False
        return name, False
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        # Latin-1 Swedish fails UTF-8 at its first non-ASCII byte. Valid multi-byte UTF-8
        # before the bad byte means a UTF-8 file with damage: read it as UTF-8 and let the
        # reader report the line, rather than turn every å into mojibake.
        if head[: exc.start].isascii():
            return single_byte_guess(head), False
        return "utf-8", False
    return "utf-8", head.isascii()


class LineSource:
    """Decoded lines of a byte stream, a chunk at a time, without line terminators.

    CRLF and CR become LF. ``line_no`` is the number of the last line handed out, so the
    first line of a yielded chunk is ``line_no - len(chunk) + 1``. A line longer than
    ``max_line_bytes`` is an error naming its line, found before it is all in memory.
    """

    def __init__(
        self,
        stream: BinaryIO,
        encoding: str,
        *,
        where: Location,
        max_line_bytes: int,
        ascii_fallback: bool = False,
        prefix: bool = False,
        watch: str | None = None,
        first_line: int = 1,
        first_byte: int = 0,
    ) -> None:
        self._stream = stream
        self.encoding = encoding
        self._where = where
        self._max_line = max_line_bytes
        # ascii_fallback: the encoding was guessed as UTF-8 from ASCII bytes only, so a
        # later non-UTF-8 byte means "single-byte encoding", not "broken file".
        self._ascii_fallback = ascii_fallback
        self._prefix = prefix  # the stream is only the head: drop the last partial line
        # A stream that is one block of a larger file (``first_line``, ``first_byte``: where
        # it starts) reports lines and offsets of the whole file.
        self.line_no = first_line - 1
        self.bytes_read = first_byte
        # Whether the last chunk holds ``watch`` (the quote character): one fast scan of the
        # decoded text lets the CSV scanner skip quote handling for most chunks.
        self._watch = watch
        self.saw_watch = True

    def _error_at(self, exc: UnicodeDecodeError, raw: bytes, consumed: int, carry: str) -> None:
        pending = len(exc.object) - len(raw)  # bytes the decoder held back last time
        offset = consumed - pending + exc.start
        if self._ascii_fallback and bytes(exc.object[: exc.start]).isascii():
            raise EncodingRetry(single_byte_guess(bytes(exc.object[exc.start :])))
        before = bytes(exc.object[: exc.start])
        line = self.line_no + carry.count("\n") + before.count(b"\n") + 1
        bad = bytes(exc.object[exc.start : exc.start + 4])
        raise IngestError(
            "invalid-encoding",
            f"byte(s) {bad.hex(' ')} are not valid {self.encoding}; set the encoding option"
            " (e.g. cp1252) if the file is in another encoding",
            Location(**{**self._where.to_dict(), "line": line, "byte_offset": offset}),
        ) from None

    def chunks(self) -> Iterator[list[str]]:
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        carry = ""
        # Reads end on multiples of CHUNK_BYTES in the file, so a block read on its own sees
        # the same windows (single_byte_guess) as a read of the whole file.
        size = CHUNK_BYTES - self.bytes_read % CHUNK_BYTES
        while True:
            raw = self._stream.read(size)
            size = CHUNK_BYTES
            final = not raw
            consumed = self.bytes_read
            self.bytes_read += len(raw)
            try:
                text = decoder.decode(raw, final=final and not self._prefix)
            except UnicodeDecodeError as exc:
                self._error_at(exc, raw, consumed, carry)
                raise  # pragma: no cover - _error_at always raises
            if self._ascii_fallback and not text.isascii():
                self._ascii_fallback = False  # real UTF-8 seen: later bad bytes are errors
            text = carry + text
            if "\r" in text:
                # A CR at the very end may be the first half of a CRLF split by the chunk.
                hold = text.endswith("\r") and not final
                text = text[:-1] if hold else text
                text = text.replace("\r\n", "\n").replace("\r", "\n")
                text += "\r" if hold else ""
            self.saw_watch = self._watch is None or self._watch in text
            lines = text.split("\n")
            carry = lines.pop()
            if final:
                if carry.rstrip("\r") and not self._prefix:
                    lines.append(carry.rstrip("\r"))
                carry = ""
            elif len(carry) * 4 > self._max_line and len(carry.encode()) > self._max_line:
                self._too_long(carry, len(lines))
            if lines and max(map(len, lines)) * 4 > self._max_line:
                for index, line in enumerate(lines):
                    if len(line) * 4 > self._max_line and len(line.encode()) > self._max_line:
                        self._too_long(line, index)
            if lines:
                self.line_no += len(lines)
                yield lines
            if final:
                return

    def _too_long(self, line: str, index: int) -> None:
        raise IngestError(
            "line-too-long",
            f"a line is longer than {self._max_line:,} bytes (limits.max_line_bytes);"
            f" it starts {excerpt(line)}",
            Location(**{**self._where.to_dict(), "line": self.line_no + index + 1}),
        )
