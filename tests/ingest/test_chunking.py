"""Chunks end at record boundaries, carry exact line numbers, and stream with bounded memory."""

from __future__ import annotations

import random

from ingest_helpers import ingest

from aurora_stream.ingest.chunker import last_boundary, read_table
from aurora_stream.ingest.dialect import Dialect


def _messy(n: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    rows = ["id,text,n"]
    for i in range(n):
        kind = rng.random()
        if kind < 0.3:
            text = '"multi\nline, ""quoted""\ntext"'
        elif kind < 0.5:
            text = '"a,b"'
        else:
            text = f"plain{i}"
        rows.append(f"{i},{text},{rng.randint(0, 9)}")
    return "\n".join(rows) + "\n"


def test_tiny_chunks_never_split_a_quoted_record(write):
    data = _messy(300).encode()
    big = ingest(write("big.csv", data), chunk_bytes=1 << 20)
    tiny = ingest(write("tiny.csv", data), chunk_bytes=17)
    assert len(tiny.chunks) > 50
    assert tiny.rows() == big.rows() and not tiny.rejected
    assert [r[0] for r in tiny.rows()] == [str(i) for i in range(300)]
    for c in tiny.chunks[:-1]:
        assert c.text.endswith("\n") and c.text.count('"') % 2 == 0


def test_first_line_is_the_physical_line(write):
    data = _messy(200, seed=5)
    path = write("m.csv", data.encode())
    lines = data.split("\n")
    header, chunks = read_table(path, Dialect(), chunk_bytes=64)
    for c in chunks:
        if c.text:
            first = c.text.split("\n", 1)[0]
            assert lines[c.first_line - 1] == first


def test_rejected_line_numbers_exact_across_chunks(write):
    rows = ["a,b"] + [f"{i},x" if i % 50 else f"{i},x,extra" for i in range(1, 400)]
    t = ingest(write("r.csv", ("\n".join(rows) + "\n").encode()), chunk_bytes=100)
    assert [r.line for r in t.rejected] == [i + 1 for i in range(50, 400, 50)]
    assert t.rows_in == 399


def test_last_boundary():
    assert last_boundary('a,"x\ny"\nb,"c', '"') == 8
    assert last_boundary('a,"x\ny', '"') == 0
    assert last_boundary("a\nb\nc", "") == 4
    assert last_boundary('a,"x\\"\ny"\nz', '"', "\\") == 10


def test_streaming_is_lazy_and_bounded(write, tmp_path):
    path = tmp_path / "large.csv"
    block = "".join(f"{i},value {i},{i * 7}\n" for i in range(20000)).encode()
    with open(path, "wb") as fh:
        fh.write(b"a,b,c\n")
        for _ in range(20):  # ~ 9 MB
            fh.write(block)
    header, chunks = read_table(path, Dialect(), chunk_bytes=256 * 1024)
    first = next(chunks)
    assert first.seq == 0 and len(first.text) < 600 * 1024
    sizes = [len(first.text)] + [len(c.text) for c in chunks]
    assert max(sizes) < 600 * 1024 and len(sizes) > 20
