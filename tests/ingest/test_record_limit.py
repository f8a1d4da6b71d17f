"""A record longer than the reader's record limit is cut out as one rejected row with its line
number; the other records, and the line numbers after it, are unaffected (a 20 MiB cell used
to make the chunk event too large for the broker and killed ``aurora run``)."""

from __future__ import annotations

import io

from aurora_stream.ingest.chunker import read_table
from aurora_stream.ingest.dialect import Dialect
from aurora_stream.profile.columns import process_chunk
from aurora_stream.wire.records import CsvChunk

COMMA = Dialect(encoding="utf-8", delimiter=",", quotechar='"', escapechar="", has_header=True)


def _rows(lo: int, hi: int) -> str:
    return "".join(f"{i},n{i % 7},short\n" for i in range(lo, hi))


def _read(text: str, limit: int = 1000, chunk: int = 256):
    header, chunks = read_table(io.BytesIO(text.encode()), COMMA, chunk_bytes=chunk,
                                record_limit=limit)
    return header, list(chunks)


def _lines(chunks) -> dict[int, str]:
    """physical line -> record text, from the chunks' first_line bookkeeping."""
    out = {}
    for c in chunks:
        for k, line in enumerate(c.text.splitlines()):
            out[c.first_line + k] = line
    return out


def test_a_line_beyond_the_limit_is_cut_out_and_later_lines_keep_their_numbers():
    text = "id,name,note\n" + _rows(0, 50) + "50,big," + "x" * 5000 + "\n" + _rows(51, 100)
    header, chunks = _read(text)
    assert header == ["id", "name", "note"]
    over = [o for c in chunks for o in c.oversize]
    assert [(o.line, o.chars) for o in over] == [(52, 5007)]  # header is line 1
    assert over[0].head.startswith("50,big,x")
    lines = _lines(chunks)
    assert len(lines) == 99 and 52 not in lines
    assert lines[53] == "51,n2,short" and lines[101] == "99,n1,short"


def test_a_quoted_field_spanning_many_lines_is_one_rejected_record():
    field = ("y" * 99 + "\n") * 60  # 6,000 characters over 60 lines, inside quotes
    text = "id,name,note\n" + _rows(0, 20) + f'20,big,"{field}"\n' + _rows(21, 40)
    _, chunks = _read(text)
    over = [o for c in chunks for o in c.oversize]
    assert [o.line for o in over] == [22]
    assert over[0].chars > 6000
    lines = _lines(chunks)
    assert lines[22 + 61] == "21,n0,short"  # the line after the field's closing quote
    assert len(lines) == 39


def test_a_stray_quote_gives_up_its_own_line_only():
    # an opening quote that never closes, with ordinary quoted fields after it: reading it
    # as one huge record would swallow the file; only its line is given up
    rows = [f'{i},"n{i}",short' for i in range(200)]
    rows[10] = '10,"broken,short'
    text = "id,name,note\n" + "\n".join(rows) + "\n"
    _, chunks = _read(text)
    assert not [o for c in chunks for o in c.oversize]
    lines = _lines(chunks)
    assert lines[12].startswith('10,"broken')  # kept as text: the parser rejects it
    assert lines[201] == '199,"n199",short'


def test_the_parse_stage_reports_a_cut_out_record_as_a_rejected_row():
    event = CsvChunk(dataset_id="d", user_id="u", seq=0, last=True, first_line=2,
                     data=_rows(0, 5), columns=["id", "name", "note"],
                     dialect={**COMMA.to_dict(), "has_header": False}, oversize=[[4, 20_000_000]])
    result = process_chunk(event)
    assert result.rows_in == 6
    [row] = result.rejected
    assert row.line == 4 and "20,000,000 characters" in row.reason and row.raw == ""
    assert {c.rows_in for c in result.columns} == {6}
    assert {c.rows_rejected for c in result.columns} == {1}


def test_a_quoted_field_filling_every_sniffer_sample_is_one_rejected_record():
    """The sniffer's samples (head, middle, tail) all lie inside one quoted field of the
    first record: their text (words between spaces, newlines) used to win the delimiter
    vote, every line of the field was rejected, and a 50 MB field gave no answer in 220 s
    (bench/adversarial.py). The header line shows the table's dialect; the field is one
    rejected record with its line number."""
    from aurora_stream.ingest.dialect import sniff

    words = 'lorem ipsum, ""quoted"" and\nnewline '
    text = 'id,text,n\n1,"' + words * (3_000_000 // len(words)) + '",2\n2,"s",6\n'
    dialect = sniff(text.encode())
    assert (dialect.delimiter, dialect.quotechar, dialect.has_header) == (",", '"', True)
    header, chunks = read_table(io.BytesIO(text.encode()), dialect, chunk_bytes=1 << 20,
                                record_limit=1 << 20)
    chunks = list(chunks)
    assert header == ["id", "text", "n"]
    assert [o.line for c in chunks for o in c.oversize] == [2]
    assert _lines(chunks) == {len(text.splitlines()): '2,"s",6'}
