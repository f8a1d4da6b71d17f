"""From one CSV chunk to its column-chunk events: parse, sketch, keep only statistics.

This is the parse stage's logic, shared by the parse agent (raw mode) and the edge
publisher (which runs it on the user's machine so that only sketches travel).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from aurora_stream.ingest.chunker import RECORD_LIMIT, read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.parse import ParsedChunk, parse_chunk
from aurora_stream.ingest.parse import RejectedRow as ParsedRejected
from aurora_stream.profile.fingerprint import name_flags
from aurora_stream.profile.sketch import ColumnSketch, sketch_frame
from aurora_stream.wire.records import ColumnChunk, CsvChunk, RejectedRow


class ChunkError(ValueError):
    """A csv-chunk event that cannot be parsed as a whole (e.g. no column names)."""


@dataclass
class ChunkResult:
    """What one chunk produced: one event per column, and the rows the parser refused."""

    columns: list[ColumnChunk]
    rejected: list[RejectedRow]
    rows_in: int


def canonical_numbers(frame: pl.DataFrame, dialect: Dialect) -> pl.DataFrame:
    """Numbers written with a decimal comma (and "." / " " thousands) in the canonical form
    the profile parses ("1.234,5" -> "1234.5"), so European files profile as numbers.
    Only cells that are whole numbers in the file's own notation change."""
    if dialect.decimal != "," or frame.width == 0:
        return frame
    sep = "\\" + dialect.thousands if dialect.thousands in (".", " ") else ""
    grouped = rf"[+-]?\d{{1,3}}(?:{sep}\d{{3}})+(?:,\d+)?" if sep else None
    plain = r"[+-]?\d+(?:,\d+)?"
    pattern = f"^(?:{grouped}|{plain})$" if grouped else f"^{plain}$"
    col = pl.col(frame.columns)
    fixed = col.str.replace_all(sep or "$^", "").str.replace(",", ".", literal=True)
    return frame.with_columns(
        pl.when(col.str.contains(pattern)).then(fixed).otherwise(col).name.keep())


def column_events(dataset_id: str, user_id: str, seq: int, last: bool, names: Sequence[str],
                  parsed: ParsedChunk, mode: str) -> list[ColumnChunk]:
    """One ColumnChunk per column: the sketch and the name's flags, never the name."""
    # the parse stage already nulled its dialect's missing markers: no second list here
    sketches = sketch_frame(parsed.frame, missing=()) if parsed.frame.width else []
    if len(sketches) != len(names):  # a frame with no rows may carry no columns
        sketches = [ColumnSketch() for _ in names]
    return [
        ColumnChunk(
            dataset_id=dataset_id, user_id=user_id, column=i, n_columns=len(names), seq=seq,
            last=last, sketch=base64.b64encode(s.to_bytes()).decode("ascii"),
            flags=list(name_flags(name)), rows_in=parsed.rows_in,
            rows_rejected=len(parsed.rejected), mode=mode,
        )
        for i, (name, s) in enumerate(zip(names, sketches, strict=True))
    ]


def chunk_dialect(text: str, n: int) -> Dialect:
    """The dialect of a chunk of records sent without one: sniffed on the chunk alone, its
    width known from the column names, so it reads as the whole file would.

    Only the chunk decides (no memory of the dataset's earlier chunks): a chunk redelivered
    to another worker after a crash must give the same sketch bytes, or the profile stage
    takes it for another file's chunk under the same id and refuses the column."""
    return sniff(text.encode("utf-8"), columns=n)


def process_chunk(chunk: CsvChunk, mode: str = "raw") -> ChunkResult:
    """Parse and sketch one csv-chunk event (raises ChunkError when it has no usable header)."""
    try:
        dialect = Dialect.from_dict(chunk.dialect) if chunk.dialect else None
    except ValueError as exc:  # the event's dialect cannot be read with: refused, said why
        raise ChunkError(str(exc)) from None
    names = list(chunk.columns) if chunk.columns else None
    text, first_line = chunk.data, chunk.first_line
    if names is None:
        if chunk.seq != 0:
            raise ChunkError(
                "chunk has no 'columns' and is not the first chunk (seq 0): send the column "
                "names on every chunk, or the whole file with its header in one chunk"
            )
        raw = text.encode("utf-8")
        dialect = dialect or sniff(raw)
        dialect = Dialect.from_dict({**dialect.to_dict(), "encoding": "utf-8"})
        # already in memory (the event fit the broker): no record is too long to read
        names, pieces = read_table(io.BytesIO(raw), dialect, chunk_bytes=max(len(raw), 1) + 1,
                                   record_limit=max(len(raw), 1) + 1)
        piece = list(pieces)
        text = "".join(p.text for p in piece)
        first_line = piece[0].first_line if piece else first_line
    if dialect is None:
        dialect = chunk_dialect(text, max(1, len(names)))
    if not names:
        raise ChunkError("no columns found in the chunk")
    parsed = parse_chunk(text, dialect, len(names), first_line)
    for line, chars in chunk.oversize or ():  # cut out by the reader: rows in, rejected
        parsed.rejected.append(ParsedRejected(
            line=line, raw="", reason=f"record of {chars:,} characters is longer than the "
            f"reader's record limit ({RECORD_LIMIT:,}); it was not read"))
        parsed.rows_in += 1
    parsed.frame = canonical_numbers(parsed.frame, dialect)
    rejected = [
        RejectedRow(dataset_id=chunk.dataset_id, user_id=chunk.user_id, seq=chunk.seq,
                    line=r.line, reason=r.reason, raw=r.raw)
        for r in parsed.rejected
    ]
    cols = column_events(chunk.dataset_id, chunk.user_id, chunk.seq, chunk.last, names, parsed,
                         mode)
    return ChunkResult(columns=cols, rejected=rejected, rows_in=parsed.rows_in)
