"""Broken files: every bad record is a RejectedRow with its line and reason; the rest goes on."""

from __future__ import annotations

from ingest_helpers import ingest

from aurora_stream.ingest.dialect import Dialect
from aurora_stream.ingest.parse import parse_chunk


def test_ragged_rows_rejected_with_line_and_reason(write):
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    t = ingest(write("r.csv", data))
    assert t.rows() == [("1", "2", "3"), ("10", "11", "12")]
    assert [(r.line, r.reason, r.raw) for r in t.rejected] == [
        (3, "expected 3 fields, found 2", "4,5"),
        (4, "expected 3 fields, found 4", "6,7,8,9"),
    ]
    assert t.rows_in == 4


def test_unterminated_quote_at_end(write):
    t = ingest(write("u.csv", b'a,b\n1,"x, y"\n2,"never closed\n3,y\n'))
    assert t.dialect.quotechar == '"'
    assert t.rows() == [("1", "x, y")]
    assert len(t.rejected) == 1
    bad = t.rejected[0]
    assert (bad.line, bad.reason) == (3, "unterminated quote at end of file")
    assert bad.raw == '2,"never closed\n3,y'


def test_nul_bytes(write):
    t = ingest(write("n.csv", b"a,b\n1,x\n2,y\x00z\n3,w\n"))
    assert t.rows() == [("1", "x"), ("3", "w")]
    assert [(r.line, r.reason) for r in t.rejected] == [(3, "NUL byte")]


def test_mixed_line_endings_count_physical_lines(write):
    t = ingest(write("m.csv", b"a,b\r\n1,x\n2,y\r3,z\r\n4\n5,v\r"))
    assert t.rows() == [("1", "x"), ("2", "y"), ("3", "z"), ("5", "v")]
    assert [(r.line, r.raw) for r in t.rejected] == [(5, "4")]


def test_empty_file(write):
    t = ingest(write("e.csv", b""))
    assert t.header == [] and len(t.chunks) == 1
    assert (t.chunks[0].text, t.chunks[0].last) == ("", True)
    assert t.rows_in == 0


def test_header_only(write):
    t = ingest(write("h.csv", b"id,name,score\n"))
    assert t.header == ["id", "name", "score"]
    assert [(c.text, c.last) for c in t.chunks] == [("", True)]
    assert t.frame.height == 0


def test_one_column(write):
    t = ingest(write("o.csv", b"city\nParis\nOslo\n\nRome\n"))
    assert t.header == ["city"]
    assert t.rows() == [("Paris",), ("Oslo",), ("Rome",)]


def test_ten_thousand_columns(write):
    n = 10_000
    header = ",".join(f"c{i}" for i in range(n))
    rows = [",".join(str(r * n + i) for i in range(n)) for r in range(3)]
    rows.insert(2, ",".join(["x"] * (n - 1)))  # one short row
    t = ingest(write("w.csv", (header + "\n" + "\n".join(rows) + "\n").encode()))
    assert len(t.header) == n and t.frame.width == n
    assert t.frame.height == 3
    assert [(r.line, r.reason) for r in t.rejected] == [(4, f"expected {n} fields, found {n - 1}")]


def test_blank_and_whitespace_cells_are_null_in_both_paths():
    d = Dialect()
    fast = parse_chunk('1, ,""\n2,\t,x\n', d, 3, 2)
    slow = parse_chunk('1, ,""\n2,\t,x\n3\n', d, 3, 2)
    assert fast.frame.rows() == [("1", None, None), ("2", None, "x")]
    assert slow.frame.rows() == fast.frame.rows() and slow.rejected[0].line == 4


def test_stray_quote_inside_unquoted_field_is_reported_not_lost():
    text = 'a,5" pipe,x\nb,ok,y\nc,7" bolt,z\nd,ok,w\n'
    p = parse_chunk(text, Dialect(), 3, 10)
    assert p.rows_in == p.frame.height + len(p.rejected)
    kept = {r[0] for r in p.frame.rows()}
    lost = "".join(r.raw for r in p.rejected)
    for key in "abcd":
        assert key in kept or key in lost
