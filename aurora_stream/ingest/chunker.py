"""Stream a CSV source as decoded, row-aligned text chunks with bounded memory.

Record boundaries follow quote parity: a newline ends a record when an even number
of (unescaped) quote characters precedes it since the previous boundary - the rule
fast CSV splitters use. Counting is done with ``str.count`` from the end of the buffer
backwards, so a chunk costs a few C-level scans, never a Python loop per character.
Line endings are normalised to ``\\n`` (``\\r\\n`` and lone ``\\r`` both count as one
physical line). Blank lines are not records.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aurora_stream.ingest.detect import escape_mask, reader_kwargs
from aurora_stream.ingest.dialect import Dialect
from aurora_stream.ingest.source import SourceError, open_source

_errors_seen = [0]


def _record_replace(exc: UnicodeError) -> tuple[str, int]:
    _errors_seen[0] += 1
    return "\ufffd", exc.end  # type: ignore[attr-defined]


codecs.register_error("aurora.replace", _record_replace)


RECORD_LIMIT = 4 << 20  # characters: a longer record is cut out (a rejected row), not sent
OVERSIZE_KEPT = 200  # characters of a cut-out record kept for its rejected row


@dataclass(frozen=True)
class Oversize:
    """A record longer than the record limit, left out of the chunks: where it was, its
    length in characters and its first ``OVERSIZE_KEPT`` characters (for the rejected row)."""

    line: int
    chars: int
    head: str


@dataclass(frozen=True)
class TextChunk:
    """Whole records of the source, decoded; ``first_line`` is the physical line of ``text[0]``.
    ``oversize``: records cut out of this chunk's span because they exceed the record limit
    (every chunk event must fit the broker's message limit, whatever one cell holds)."""

    seq: int
    first_line: int
    text: str
    last: bool
    decode_errors: tuple[int, ...] = ()
    oversize: tuple[Oversize, ...] = ()


def last_boundary(buf: str, quotechar: str, escapechar: str = "") -> int:
    """Index just after the last newline of ``buf`` that lies outside quotes (0 if none)."""
    end = buf.rfind("\n")
    if end < 0 or not quotechar or quotechar not in buf:
        return end + 1
    masked = escape_mask(buf, escapechar)
    parity = masked.count(quotechar, 0, end) & 1
    while parity:
        prev = masked.rfind("\n", 0, end)
        if prev < 0:
            return 0
        parity ^= masked.count(quotechar, prev, end) & 1
        end = prev
    return end + 1


class _Decoded:
    """Incrementally decoded text of a binary stream, line endings normalised."""

    def __init__(self, stream: BinaryIO, encoding: str, block: int) -> None:
        try:
            self._decoder = codecs.getincrementaldecoder(encoding)(errors="aurora.replace")
        except LookupError as exc:
            raise SourceError(f"unknown encoding {encoding!r}") from exc
        self._stream, self._block, self._encoding = stream, block, encoding
        self._cr = ""
        self._start = True
        self.eof = False
        self.had_errors = False

    def read(self) -> str:
        """Next piece of text ("" only at end of file)."""
        while not self.eof:
            try:
                raw = self._stream.read(self._block)
            except Exception as exc:  # gzip/bz2/zstd/zip corruption surfaces here
                raise SourceError(f"cannot read source: {exc}") from exc
            before = _errors_seen[0]
            try:
                text = self._cr + self._decoder.decode(raw, final=not raw)
            except UnicodeError as exc:  # e.g. "utf-16" without a BOM
                raise SourceError(f"cannot decode source as {self._encoding}: {exc}") from exc
            self.had_errors |= _errors_seen[0] != before
            self.eof = not raw
            self._cr = ""
            if self._start and text:
                text, self._start = text.removeprefix("\ufeff"), False
            if text.endswith("\r") and not self.eof:
                text, self._cr = text[:-1], "\r"
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if text:
                return text
        return ""


def unique_names(raw: list[str]) -> list[str]:
    """Trimmed names; empty ones become ``column_<i>``; duplicates get ``_2``, ``_3`` ..."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(raw, start=1):
        base = name.strip() or f"column_{i}"
        candidate, k = base, 1
        while candidate in seen:
            k += 1
            candidate = f"{base}_{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


class _Table:
    """Reading state: undecoded remainder, line bookkeeping, decode-error lines."""

    def __init__(self, stream: BinaryIO, dialect: Dialect, chunk_bytes: int,
                 record_limit: int = RECORD_LIMIT) -> None:
        self.d = dialect
        self.src = _Decoded(stream, dialect.encoding, max(16, chunk_bytes))
        self.chunk_bytes = max(1, chunk_bytes)
        self.max_record = max(1, record_limit)
        self.buf = ""
        self.line = 1
        self.pending_errors: list[int] = []
        self.oversize: list[Oversize] = []

    def fill(self, size: int) -> None:
        while len(self.buf) < size and not self.src.eof:
            self.buf += self.src.read()

    def take(self, n: int) -> str:
        """Remove the first ``n`` characters of the buffer, tracking lines and decode errors."""
        text, self.buf = self.buf[:n], self.buf[n:]
        if self.src.had_errors and "\ufffd" in text:
            self.pending_errors += _error_lines(text, self.line)
        self.line += text.count("\n")
        return text

    def next_line(self) -> str | None:
        """One physical line (without newline), or None at end of file. Raises
        ``SourceError`` for a line beyond the record limit (never buffered whole)."""
        while "\n" not in self.buf and not self.src.eof:
            if len(self.buf) > self.max_record:
                raise SourceError(
                    f"line {self.line} is longer than the record limit "
                    f"({self.max_record:,} characters) before the table starts")
            self.fill(len(self.buf) + self.chunk_bytes)
        if not self.buf:
            return None
        k = self.buf.find("\n")
        return self.take(k + 1 if k >= 0 else len(self.buf)).removesuffix("\n")

    def skip_record(self) -> None:
        """Cut out the record at the start of the buffer (quote aware: a quoted field may
        span lines), streaming through it so memory stays bounded however long it is, and
        record it as oversize. A quote that never closes takes the rest of the source, as
        the CSV rule says; the rejected row then names the line where it opened."""
        q, e = self.d.quotechar, self.d.escapechar
        line, head, chars, parity = self.line, self.buf[:OVERSIZE_KEPT], 0, 0
        while True:
            masked = escape_mask(self.buf, e) if q else self.buf
            pos, end = 0, -1
            while True:
                nl = masked.find("\n", pos)
                if nl < 0:
                    break
                if q:
                    parity ^= masked.count(q, pos, nl) & 1
                if not parity:
                    end = nl
                    break
                pos = nl + 1
            if end >= 0:
                chars += end
                self.line += self.buf.count("\n", 0, end + 1)
                self.buf = self.buf[end + 1:]
                break
            if q:
                parity ^= masked.count(q, pos) & 1
            chars += len(self.buf)
            self.line += self.buf.count("\n")
            self.buf = ""
            if self.src.eof:
                break
            self.fill(self.chunk_bytes)
        self.oversize.append(Oversize(line, chars, head))

    def next_record(self) -> str | None:
        """One record (quote aware, capped at ``max_record``), without its final newline."""
        q, e = self.d.quotechar, self.d.escapechar
        while True:
            k = _first_boundary(self.buf, q, e)
            if k or self.src.eof or len(self.buf) > self.max_record:
                break
            self.fill(len(self.buf) + self.chunk_bytes)
        if not self.buf:
            return None
        if not k:
            return self.next_line() if len(self.buf) > self.max_record else (
                self.take(len(self.buf)).removesuffix("\n"))
        return self.take(k).removesuffix("\n")


def _first_boundary(buf: str, q: str, e: str) -> int:
    pos, parity = 0, 0
    masked = escape_mask(buf, e) if q else buf
    while True:
        k = masked.find("\n", pos)
        if k < 0:
            return 0
        if q:
            parity ^= masked.count(q, pos, k) & 1
        if not parity:
            return k + 1
        pos = k + 1


def _error_lines(text: str, first_line: int) -> list[int]:
    out, pos = [], text.find("\ufffd")
    while pos >= 0:
        line = first_line + text.count("\n", 0, pos)
        if not out or out[-1] != line:
            out.append(line)
        pos = text.find("\ufffd", pos + 1)
    return out


def _header(t: _Table) -> list[str]:
    """Skip preamble lines, blank and comment lines, then read the header (or peek the width)."""
    d = t.d
    for _ in range(d.skip_lines):
        if t.next_line() is None:
            return []
    t.fill(t.chunk_bytes)
    while t.buf:
        k = t.buf.find("\n")
        line = t.buf[: k if k >= 0 else len(t.buf)]
        if line.strip() and not (d.comment and line.startswith(d.comment)):
            break
        t.take(k + 1 if k >= 0 else len(t.buf))
        t.fill(t.chunk_bytes)
    rows = _peek_rows(t.buf, d)
    if d.has_header:
        record = t.next_record()
        if record is None:
            return []
        raw = _parse_one(record, d)
        if raw is None:  # quotes do not pair up: the header is its first physical line only
            first, _, rest = record.partition("\n")
            t.buf = rest + "\n" + t.buf
            t.line -= rest.count("\n") + 1
            raw = _parse_one(first, d) or first.split(d.delimiter)
        return unique_names(_fit_trailing(raw or [""], _peek_rows(t.buf, d)))
    if not rows:
        return []
    width = max(set(map(len, rows)), key=[len(r) for r in rows].count)
    return [f"column_{i}" for i in range(1, width + 1)]


def _parse_one(record: str, d: Dialect) -> list[str] | None:
    """Fields of one record, or None when the csv module does not see exactly one row."""
    try:
        rows = list(csv.reader([record], **reader_kwargs(d.delimiter, d.quotechar, d.escapechar)))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def _peek_rows(buf: str, d: Dialect, limit: int = 50) -> list[list[str]]:
    lines = [ln for ln in buf[: 1 << 20].split("\n")[:limit] if ln.strip()]
    if d.comment:
        lines = [ln for ln in lines if not ln.startswith(d.comment)]
    try:
        return [r for r in csv.reader(lines, **reader_kwargs(d.delimiter, d.quotechar,
                                                              d.escapechar)) if r]
    except csv.Error:
        return []


def _fit_trailing(header: list[str], rows: list[list[str]]) -> list[str]:
    """Reconcile a trailing delimiter present on the header or on the rows but not both."""
    if len(rows) < 1:
        return header
    widths = [len(r) for r in rows]
    mode = max(set(widths), key=widths.count)
    n = len(header)
    if mode == n + 1 and all(not r[-1].strip() for r in rows if len(r) == mode):
        return header + [""]
    if mode == n - 1 and n > 1 and not header[-1].strip():
        return header[:-1]
    return header


Piece = tuple[int, str, tuple[int, ...], tuple[Oversize, ...]]


def _stray_quote(rest: str, q: str, e: str) -> bool:
    """Whether quote characters follow in ``rest`` (doubled ones aside): a field still open
    after ``max_record`` characters with more quotes after it is a stray quote that made
    every later quote flip parity, not one huge quoted field (whose text has none)."""
    if not q:
        return False
    return escape_mask(rest, e).replace(q + q, "").count(q) > 0


def _drain(t: _Table) -> tuple[tuple[int, ...], tuple[Oversize, ...]]:
    errors, over = tuple(t.pending_errors), tuple(t.oversize)
    t.pending_errors, t.oversize = [], []
    return errors, over


def _chunks(t: _Table) -> Iterator[Piece]:
    """(first_line, text, decode_error_lines, oversize records) pieces; the final piece
    may be empty. Records cut out for their size go with the piece that follows them."""
    q, e = t.d.quotechar, t.d.escapechar
    while True:
        t.fill(t.chunk_bytes)
        if t.src.eof:
            first = t.line
            text = t.take(len(t.buf))
            if text and not text.endswith("\n"):
                text += "\n"
            yield first, text, *_drain(t)
            return
        cut = last_boundary(t.buf, q, e)
        while not cut and not t.src.eof and len(t.buf) <= t.max_record:
            t.fill(len(t.buf) + t.chunk_bytes)
            cut = last_boundary(t.buf, q, e)
        if t.src.eof and not cut:
            continue
        if not cut:  # no record ends within max_record
            cut = t.buf.find("\n") + 1
            if not cut or cut > t.max_record or not _stray_quote(t.buf[cut:], q, e):
                t.skip_record()  # one record really is that long: cut it out, read on
                continue
            # else a stray quote opened a "field" that other quotes never close: give up
            # the line it is on (a rejected row) and read on from the next one
        first = t.line
        text = t.take(cut)
        yield first, text, *_drain(t)


def read_table(
    source: str | Path | BinaryIO, dialect: Dialect, *, chunk_bytes: int = 1 << 20,
    record_limit: int = RECORD_LIMIT,
) -> tuple[list[str], Iterator[TextChunk]]:
    """Header names and a lazy iterator of row-aligned ``TextChunk`` (about ``chunk_bytes`` each).

    Memory stays bounded by a few chunks whatever the file size. A header-only or empty
    file yields one chunk with ``text == ""`` and ``last=True``. A physical line longer
    than ``record_limit`` characters is cut out (``TextChunk.oversize``: a rejected row
    downstream), so no chunk outgrows the broker's message limit. Raises ``SourceError``.
    """
    stream = open_source(source)
    table = _Table(stream, dialect, chunk_bytes, record_limit)
    try:
        header = _header(table)
    except BaseException:
        stream.close()
        raise

    def chunks() -> Iterator[TextChunk]:
        try:
            held: Piece | None = None
            seq = 0
            for piece in _chunks(table):
                if held is not None:
                    if not piece[1]:  # nothing after the held piece: it is the last one
                        held = (held[0], held[1], held[2] + piece[2], held[3] + piece[3])
                        break
                    yield TextChunk(seq, held[0], held[1], False, held[2], held[3])
                    seq += 1
                held = piece
            if held is None:
                held = (table.line, "", (), ())
            yield TextChunk(seq, held[0], held[1], True, held[2], held[3])
        finally:
            if stream is not source and stream is not sys.stdin.buffer:
                stream.close()

    return header, chunks()
