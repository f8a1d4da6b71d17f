"""Test helper: run sniff + read_table + parse_chunk over a whole source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from aurora_stream.ingest.chunker import TextChunk, read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.parse import RejectedRow, parse_chunk


@dataclass
class Table:
    """Everything one ingest run produced."""

    dialect: Dialect
    header: list[str]
    chunks: list[TextChunk]
    frame: pl.DataFrame
    rows_in: int
    rejected: list[RejectedRow] = field(default_factory=list)

    def rows(self) -> list[tuple]:
        return self.frame.rows()


def ingest(source: Path | str | bytes, dialect: Dialect | None = None,
           chunk_bytes: int = 1 << 20) -> Table:
    """Sniff (unless given), read and parse all chunks; checks the row invariant on each."""
    d = dialect or sniff(source)
    header, chunks_iter = read_table(source, d, chunk_bytes=chunk_bytes)
    chunks, frames, rejected, rows_in = [], [], [], 0
    for chunk in chunks_iter:
        parsed = parse_chunk(chunk.text, d, len(header), chunk.first_line)
        assert parsed.rows_in == parsed.frame.height + len(parsed.rejected)
        assert parsed.frame.width == max(1, len(header))
        chunks.append(chunk)
        frames.append(parsed.frame)
        rejected += parsed.rejected
        rows_in += parsed.rows_in
    assert chunks and chunks[-1].last and not any(c.last for c in chunks[:-1])
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    frame = pl.concat(frames) if frames else pl.DataFrame()
    return Table(d, header, chunks, frame, rows_in, rejected)
