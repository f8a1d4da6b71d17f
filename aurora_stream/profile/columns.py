"""From one CSV chunk to its column-chunk events: parse, sketch, keep only statistics.

This is the parse stage's logic, shared by the parse agent (raw mode) and the edge
publisher (which runs it on the user's machine so that only sketches travel).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

from aurora_stream.events import ColumnChunk, CsvChunk, RejectedRow
from aurora_stream.ingest.chunker import read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.parse import ParsedChunk, parse_chunk
from aurora_stream.profile.fingerprint import name_flags
from aurora_stream.profile.sketch import ColumnSketch, sketch_frame


class ChunkError(ValueError):
    """A csv-chunk event that cannot be parsed as a whole (e.g. no column names)."""


@dataclass
class ChunkResult:
    """What one chunk produced: one event per column, and the rows the parser refused."""

    columns: list[ColumnChunk]
    rejected: list[RejectedRow]
    rows_in: int


def column_events(dataset_id: str, user_id: str, seq: int, last: bool, names: Sequence[str],
                  parsed: ParsedChunk, mode: str) -> list[ColumnChunk]:
    """One ColumnChunk per column: the sketch and the name's flags, never the name."""
    sketches = sketch_frame(parsed.frame) if parsed.frame.width else []
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


def process_chunk(chunk: CsvChunk, mode: str = "raw") -> ChunkResult:
    """Parse and sketch one csv-chunk event (raises ChunkError when it has no usable header)."""
    dialect = Dialect.from_dict(chunk.dialect) if chunk.dialect else None
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
        names, pieces = read_table(io.BytesIO(raw), dialect, chunk_bytes=max(len(raw), 1) + 1)
        piece = list(pieces)
        text = "".join(p.text for p in piece)
        first_line = piece[0].first_line if piece else first_line
    if dialect is None:
        dialect = sniff(text.encode("utf-8"))
    if not names:
        raise ChunkError("no columns found in the chunk")
    parsed = parse_chunk(text, dialect, len(names), first_line)
    rejected = [
        RejectedRow(dataset_id=chunk.dataset_id, user_id=chunk.user_id, seq=chunk.seq,
                    line=r.line, reason=r.reason, raw=r.raw)
        for r in parsed.rejected
    ]
    cols = column_events(chunk.dataset_id, chunk.user_id, chunk.seq, chunk.last, names, parsed,
                         mode)
    return ChunkResult(columns=cols, rejected=rejected, rows_in=parsed.rows_in)
