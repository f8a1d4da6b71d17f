"""Property tests: arbitrary bytes never crash; well-formed CSV round-trips through any chunking."""

from __future__ import annotations

import codecs
import csv
import io

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aurora_stream.ingest.chunker import read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.ingest.parse import parse_chunk
from aurora_stream.ingest.source import SourceError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_all(data: bytes, d: Dialect, chunk_bytes: int):
    header, chunks = read_table(io.BytesIO(data), d, chunk_bytes=chunk_bytes)
    rows, rejected, texts, seen = [], [], [], []
    for c in chunks:
        seen.append(c)
        p = parse_chunk(c.text, d, len(header), c.first_line)
        assert p.rows_in == p.frame.height + len(p.rejected)
        assert p.frame.width == max(1, len(header))
        assert all(r.line >= c.first_line for r in p.rejected)
        rows += p.frame.rows()
        rejected += p.rejected
        texts.append(c.text)
    assert seen[-1].last and not any(c.last for c in seen[:-1])
    return header, rows, rejected, "".join(texts)


def _decoded(data: bytes, encoding: str) -> str:
    text = codecs.decode(data, encoding, errors="replace").lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


@FAST
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=200))
def test_arbitrary_bytes_never_crash_and_lose_nothing(data, chunk_bytes):
    try:
        d = sniff(data)
    except SourceError:
        return
    try:
        header, rows, rejected, text = _read_all(data, d, chunk_bytes)
    except SourceError:
        return
    if text:
        body = text.removesuffix("\n")
        assert _decoded(data, d.encoding).rstrip("\n").endswith(body.rstrip("\n"))


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00\ufeff"),
    max_size=12,
)


@FAST
@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), min_size=1, max_size=25)
    ),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    st.integers(min_value=1, max_value=300),
)
def test_well_formed_csv_round_trips(rows, sep, quoting, chunk_bytes):
    n = len(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, quoting=quoting, lineterminator="\n")
    writer.writerow([f"h{i}" for i in range(n)])
    writer.writerows(rows)
    d = Dialect(delimiter=sep)
    header, got, rejected, _ = _read_all(out.getvalue().encode(), d, chunk_bytes)
    assert header == [f"h{i}" for i in range(n)]
    marks = {m.lower() for m in d.missing}  # compared as polars strips (ingest.missing)
    expected = [tuple(None if pl.Series([v]).str.strip_chars()[0].lower() in marks else v
                      for v in r) for r in rows]
    assert not rejected
    assert got == expected
