"""Dialect detection and reading: delimiters, quoting, escapes, sep=, comments, headers, numbers."""

from __future__ import annotations

import pytest
from ingest_helpers import ingest

from aurora_stream.ingest.dialect import Dialect, sniff


def _table(sep: str, n: int = 30) -> str:
    rows = [sep.join(["id", "name", "score", "when"])]
    for i in range(n):
        rows.append(sep.join([str(i), f"name {i}", f"{i * 1.5:.2f}", f"2024-01-{i % 28 + 1:02d}"]))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|", "^", ":", "~"])
def test_delimiters(write, sep):
    t = ingest(write("d.csv", _table(sep).encode()))
    assert t.dialect.delimiter == sep
    assert t.header == ["id", "name", "score", "when"]
    assert t.rows()[3] == ("3", "name 3", "4.50", "2024-01-04")
    assert t.frame.height == 30 and not t.rejected


def test_quoted_delimiters_doubled_quotes_and_newlines(write):
    data = (
        b'id,text,n\n1,"a, b",2\n2,"she said ""hi""",3\n3,"line one\nline two, still",4\n'
        b'4,plain,5\n'
    )
    t = ingest(write("q.csv", data))
    assert t.dialect.quotechar == '"'
    assert t.rows() == [
        ("1", "a, b", "2"), ("2", 'she said "hi"', "3"),
        ("3", "line one\nline two, still", "4"), ("4", "plain", "5"),
    ]


def test_backslash_escapes(write):
    data = b'id,text\n1,"say \\"hi\\" now"\n2,"back \\\\ slash"\n3,"x"\n'
    t = ingest(write("e.csv", data))
    assert t.dialect.escapechar == "\\"
    assert t.rows() == [("1", 'say "hi" now'), ("2", "back \\ slash"), ("3", "x")]


def test_single_quote_char(write):
    data = b"id;name;n\n1;'a;b';2\n2;'c';3\n3;'d;e';4\n"
    t = ingest(write("sq.csv", data))
    assert (t.dialect.delimiter, t.dialect.quotechar) == (";", "'")
    assert t.rows()[0] == ("1", "a;b", "2")


def test_excel_sep_line(write):
    t = ingest(write("sep.csv", b"sep=;\nname;value\nx;1,5\ny;2,25\n"))
    assert (t.dialect.delimiter, t.dialect.skip_lines) == (";", 1)
    assert t.dialect.decimal == ","
    assert t.header == ["name", "value"]
    assert t.rows() == [("x", "1,5"), ("y", "2,25")]


def test_comment_lines_leading_and_inside(write):
    data = b"# exported by tool\n# version 2\nid,v\n1,a\n# a note, inside\n2,b\n"
    t = ingest(write("c.csv", data))
    assert (t.dialect.comment, t.dialect.skip_lines) == ("#", 2)
    assert t.rows() == [("1", "a"), ("2", "b")] and t.rows_in == 2


def test_preamble_before_the_table(write):
    data = (b"Sales report\nGenerated 2024-05-01\n\n"
            b"id,region,amount\n1,north,10\n2,south,20\n3,x,30\n")
    t = ingest(write("p.csv", data))
    assert t.header == ["id", "region", "amount"]
    assert t.frame.height == 3 and not t.rejected


def test_trailing_delimiter_on_every_row(write):
    t = ingest(write("t.csv", b"a,b,c,\n1,2,3,\n4,5,6,\n"))
    assert t.header == ["a", "b", "c", "column_4"]
    assert t.rows() == [("1", "2", "3", None), ("4", "5", "6", None)]


def test_trailing_delimiter_on_rows_only(write):
    t = ingest(write("t.csv", b"a,b,c\n1,2,3,\n4,5,6,\n7,8,9,\n"))
    assert t.header == ["a", "b", "c", "column_4"] and not t.rejected


def test_no_header_detected(write):
    data = "".join(f"{i},{i * 2.5},2024-02-{i + 1:02d}\n" for i in range(20)).encode()
    t = ingest(write("nh.csv", data))
    assert t.dialect.has_header is False
    assert t.header == ["column_1", "column_2", "column_3"]
    assert t.frame.height == 20 and t.rows()[0] == ("0", "0.0", "2024-02-01")


def test_duplicate_empty_and_blank_names_made_unique(write):
    t = ingest(write("h.csv", b"a,a,,  ,a_2,b\n1,2,3,4,5,6\n"))
    assert t.header == ["a", "a_2", "column_3", "column_4", "a_2_2", "b"]
    assert len(set(t.header)) == 6


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [
        ("id;price\n1;1.234,56\n2;12,5\n3;1.000.000,75\n", ",", "."),
        ("id;price\n1;1 234,56\n2;12,5\n3;7 000,25\n", ",", " "),
        ('id,price\n1,"1,234.56"\n2,12.5\n3,"1,000,000.75"\n', ".", ","),
        ("id,price\n1,3.14\n2,2.71\n", ".", ""),
    ],
)
def test_decimal_and_thousands(text, decimal, thousands):
    d = sniff(text.encode())
    assert (d.decimal, d.thousands) == (decimal, thousands)


def test_dialect_dict_roundtrip_and_sniff_json():
    d = Dialect(delimiter=";", escapechar="\\", has_header=False, decimal=",")
    assert Dialect.from_dict({**d.to_dict(), "unknown": 1}) == d
    assert d.sniff_json() == {
        "delimiter": ";", "quotechar": '"', "escapechar": "\\", "encoding": "utf-8",
        "has_header": False,
    }


@pytest.mark.parametrize("bad,why", [
    ({"delimiter": ""}, "delimiter must be one character"),
    ({"delimiter": "ab"}, "delimiter must be one character"),
    ({"delimiter": 5}, "delimiter must be a string"),
    ({"delimiter": ",", "quotechar": ","}, "cannot also be the quote"),
    ({"escapechar": "\\\\"}, "escapechar must be one character or empty"),
    ({"quotechar": "\n"}, "line breaks"),
    ({"skip_lines": -1}, "skip_lines"),
    ({"has_header": "yes"}, "has_header"),
    ({"missing": [1]}, "missing"),
])
def test_a_dialect_from_an_event_is_checked_before_anything_reads_with_it(bad, why):
    """A csv-chunk's dialect is untrusted: Dialect.from_dict refuses what csv cannot read
    with (the reason is a dead letter's), where a TypeError from deep in the csv module
    was an 'internal error' with a traceback in the worker's log; process_chunk says so
    as a ChunkError."""
    from aurora_stream.profile.columns import ChunkError, process_chunk
    from aurora_stream.wire.records import CsvChunk

    with pytest.raises(ValueError, match=why):
        Dialect.from_dict({**Dialect().to_dict(), **bad})
    chunk = CsvChunk(dataset_id="d", user_id="u", seq=0, last=True, first_line=1,
                     data="a,b\n1,2\n", dialect={**Dialect().to_dict(), **bad})
    with pytest.raises(ChunkError, match="invalid dialect"):
        process_chunk(chunk)


def test_every_sniffed_dialect_passes_the_check(write):
    for sep in (",", ";", "\t", "|"):
        d = sniff(write("t.csv", _table(sep).encode()))
        assert Dialect.from_dict(d.to_dict()) == d


def test_votes_over_samples_from_the_whole_file(write):
    # head lines are one-column text; the table body (most of the file) is ';' separated
    head = "".join(f"row {i}; note\n" for i in range(5))
    body = "".join(f"{i};{i * 2};x{i};2024-01-01\n" for i in range(20000))
    d = sniff(write("v.csv", ("a;b;c;d\n" + head + body).encode()), sample_bytes=4096)
    assert d.delimiter == ";"
