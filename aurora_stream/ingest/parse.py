"""Parse one row-aligned text chunk into a string DataFrame plus exact rejected rows.

Fast path: ``polars.read_csv`` (all Utf8) when a cheap C-level check proves every
record has the expected width. Slow path, only for chunks that fail the check: one
record at a time with the ``csv`` module, so each bad record is reported with its
physical line number and a reason, and the others still parse.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field

import polars as pl

from aurora_stream.ingest.chunker import escape_mask
from aurora_stream.ingest.detect import reader_kwargs
from aurora_stream.ingest.dialect import Dialect
from aurora_stream.ingest.missing import frame_to_null

BLANK = " \t"  # a cell of only spaces and tabs (or nothing) is null

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # multi-line text cells beyond 128 KiB


@dataclass(frozen=True)
class RejectedRow:
    """A record the parser refused: where, why, and its raw text."""

    line: int
    reason: str
    raw: str


@dataclass
class ParsedChunk:
    """Parsed rows as Utf8 columns "0".."n-1"; invariant rows_in == frame.height + rejected."""

    frame: pl.DataFrame
    rows_in: int
    rejected: list[RejectedRow] = field(default_factory=list)


def _schema(n: int) -> dict[str, pl.DataType]:
    return {str(i): pl.String() for i in range(n)}


def _blank_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """Empty and whitespace-only cells to null; only columns where a cell can be blank."""
    if frame.width == 0 or frame.height == 0:
        return frame
    starts = [pl.all().str.starts_with(c) for c in BLANK]
    suspects = frame.select((pl.all().str.len_bytes() == 0).or_(*starts).any()).row(0)
    cols = [c for c, s in zip(frame.columns, suspects, strict=True) if s]
    if not cols:
        return frame
    blank = pl.col(cols).str.strip_chars(BLANK).str.len_bytes() == 0
    return frame.with_columns(pl.when(blank).then(None).otherwise(pl.col(cols)).name.keep())


def _fast_ok(text: str, d: Dialect) -> bool:
    """Whether polars can read this chunk with the same meaning as the exact path."""
    q, sep = d.quotechar, d.delimiter
    if (
        len(sep) != 1 or not sep.isascii() or sep in "\n\r\x01" or len(q) > 1
        or not q.isascii() or sep == q or "\x00" in text
        or (d.escapechar and d.escapechar in text)
    ):
        return False
    if d.comment and (text.startswith(d.comment) or "\n" + d.comment in text):
        return False
    if q and text.count(q) % 2:
        return False  # an unterminated quote
    return not (text.startswith("\n") or "\n\n" in text)


def _polars(data: bytes, d: Dialect, n: int) -> pl.DataFrame | None:
    try:
        return pl.read_csv(
            data, has_header=False, schema=_schema(n), separator=d.delimiter,
            quote_char=d.quotechar or None, eol_char="\n",
        )
    except Exception:  # polars disagrees (stray quote, ragged row): the exact path decides
        return None


def _fast(text: str, d: Dialect, n: int) -> ParsedChunk | None:
    """Polars parse when every record provably has ``n`` fields, else None.

    Single-line records: a sentinel field is appended to every line; polars raises on a
    row that is too long, and a short row leaves the sentinel out of the last column.
    Multi-line quoted records: delimiters and newlines are counted outside the quotes.
    """
    if not _fast_ok(text, d):
        return None
    if not text.endswith("\n"):
        text += "\n"
    lines = text.count("\n")
    sentinel = (d.delimiter + "\x01\n").encode()
    frame = _polars(text.encode("utf-8").replace(b"\n", sentinel), d, n + 1)
    if frame is not None and frame.height == lines:
        last = frame.get_column(str(n))
        if last.null_count() == 0 and (last == "\x01").all():
            return ParsedChunk(_blank_to_null(frame.drop(str(n))), lines, [])
        return None
    q = d.quotechar
    if not q or q not in text:
        return None
    parts = text.split(q)
    if len(parts) % 2 == 0:
        return None  # an unterminated quote
    outside = "\x01".join(parts[::2])
    records = outside.count("\n")
    if "\n\n" in outside or outside.count(d.delimiter) != (n - 1) * records:
        return None
    frame = _polars(text.encode("utf-8"), d, n)
    if frame is None or frame.height != records:
        return None
    return ParsedChunk(_blank_to_null(frame), records, [])


def _records(text: str, d: Dialect, first_line: int):
    """(line, raw, complete) per record; blank and comment lines skipped."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    q = d.quotechar
    i = 0
    while i < len(lines):
        line = lines[i]
        start = i
        i += 1
        if not line:
            continue
        if d.comment and line.startswith(d.comment):
            continue
        parity = escape_mask(line, d.escapechar).count(q) & 1 if q else 0
        while parity and i < len(lines):
            parity ^= escape_mask(lines[i], d.escapechar).count(q) & 1
            i += 1
        yield first_line + start, "\n".join(lines[start:i]), not parity


def _slow(text: str, d: Dialect, n: int, first_line: int) -> ParsedChunk:
    kw = reader_kwargs(d.delimiter, d.quotechar, d.escapechar)
    columns: list[list[str | None]] = [[] for _ in range(n)]
    rejected: list[RejectedRow] = []
    rows_in = 0
    for line, raw, complete in _records(text, d, first_line):
        rows_in += 1
        if not complete:
            rejected.append(RejectedRow(line, "unterminated quote at end of file", raw))
            continue
        if "\x00" in raw:
            rejected.append(RejectedRow(line, "NUL byte", raw))
            continue
        try:
            rows = list(csv.reader([raw], **kw))
        except csv.Error as exc:
            rejected.append(RejectedRow(line, f"malformed record: {exc}", raw))
            continue
        if len(rows) != 1:
            rejected.append(RejectedRow(line, "malformed quoting across lines", raw))
            continue
        fields = rows[0]
        if len(fields) != n:
            rejected.append(RejectedRow(line, f"expected {n} fields, found {len(fields)}", raw))
            continue
        for col, value in zip(columns, fields, strict=True):
            col.append(value if value.strip(BLANK) else None)
    frame = pl.DataFrame({str(i): c for i, c in enumerate(columns)}, schema=_schema(n))
    return ParsedChunk(frame, rows_in, rejected)


def parse_chunk(text: str, dialect: Dialect, n_columns: int, first_line: int) -> ParsedChunk:
    """Parse a chunk from ``read_table``; ``first_line`` is its first physical line (1-based).

    Values stay strings; empty and whitespace-only cells, and cells that are one of the
    dialect's missing markers (``NA``, ``?``, ``null`` ...), become null. Every record is
    either a frame row or a ``RejectedRow`` (blank and comment lines are not records).
    """
    n = max(1, n_columns)
    if not text:
        return ParsedChunk(pl.DataFrame(schema=_schema(n)), 0, [])
    parsed = _fast(text, dialect, n) or _slow(text, dialect, n, first_line)
    parsed.frame = frame_to_null(parsed.frame, dialect.missing)
    return parsed

