"""A chunk sent without a dialect is sniffed with the whole file's rules (the trap that got the
first issue-12 branch reverted: 9 of 3,000 rows of the confluent-kafka client test rejected)."""

from __future__ import annotations

import csv
import io
import uuid

from aurora_stream.ingest.detect import alignments, score_text
from aurora_stream.ingest.dialect import sniff
from aurora_stream.profile.columns import process_chunk
from aurora_stream.wire.records import CsvChunk

COLUMNS = ["order_id", "amount", "status", "note", "shipped_on"]


def _orders(n: int, every: int = 97) -> list[list[str]]:
    """Rows like the client tests': a rare quoted note holding the delimiter and a newline."""
    return [[f"A-{i:05d}", f"{(i * 37) % 500 + 0.5:.2f}", ["new", "paid", "sent"][i % 3],
             "left at door,\nsigned by neighbour" if i % every == 0 else f"note {i % 7}",
             f"2024-{i % 12 + 1:02d}-01"] for i in range(n)]


def _client_chunks(rows: list[list[str]], chunk_bytes: int) -> list[str]:
    """Record-aligned chunk texts, no header, as a third-party client cuts them."""
    out, buf = [], io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        if buf.tell() >= chunk_bytes:
            out.append(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        out.append(buf.getvalue())
    return out


def _events(texts: list[str], dataset_id: str) -> list[CsvChunk]:
    line, out = 2, []
    for seq, text in enumerate(texts):
        out.append(CsvChunk(dataset_id=dataset_id, user_id="u", seq=seq,
                            last=seq == len(texts) - 1, first_line=line, data=text,
                            columns=COLUMNS))
        line += text.count("\n")
    return out


def test_later_chunks_without_dialect_with_rare_quoted_newline_delimiter_fields_all_parse():
    events = _events(_client_chunks(_orders(3000), 32 * 1024), f"d-{uuid.uuid4().hex}")
    assert len(events) > 3
    # later chunks first: none can lean on the first chunk's dialect, each sniffs itself
    results = [process_chunk(e) for e in reversed(events)]
    assert sum(r.rows_in for r in results) == 3000
    assert [r.rejected for r in results] == [[]] * len(results)


def test_every_chunk_sniffs_like_the_whole_file():
    rows = _orders(6000, every=151)
    whole = sniff(("\n".join([",".join(COLUMNS)]) + "\n" + "".join(
        _client_chunks(rows, 1 << 30))).encode())
    for text in _client_chunks(rows, 48 * 1024):
        d = sniff(text.encode(), columns=len(COLUMNS))
        assert (d.delimiter, d.quotechar, d.escapechar) == (
            whole.delimiter, whole.quotechar, whole.escapechar)
        assert d.has_header is False and d.skip_lines == 0  # records only


def test_a_sample_starting_inside_a_quoted_field_is_read_from_the_next_record():
    # cut mid-file just after the newline inside "left at door,\nsigned by neighbour"
    body = "".join(",".join(f'"{c}"' if "\n" in c else c for c in r) + "\n"
                   for r in _orders(300))
    text = 'signed by neighbour",2024-02-01\n' + body
    assert alignments(text, '"')[1] == body
    scores = score_text(text, ['"', ""], set(), cut=True)
    assert max(scores, key=scores.get) == (",", '"', "")
    assert score_text(text, ['"', ""], set(), cut=True)[(",", '"', "")] == score_text(
        body, ['"', ""], set())[(",", '"', "")]


def test_big_chunk_whose_middle_samples_land_inside_quoted_fields():
    # long quoted multi-line notes: a middle sample offset often falls inside one
    long_note = "line one, with a comma\n" * 40
    rows = [[f"A-{i:05d}", str(i), "new", long_note if i % 5 == 0 else "short", "2024-01-01"]
            for i in range(3000)]
    [text] = _client_chunks(rows, 1 << 30)
    d = sniff(text.encode(), columns=len(COLUMNS), sample_bytes=16 * 1024)
    assert (d.delimiter, d.quotechar) == (",", '"')


def test_a_chunks_sketches_do_not_depend_on_what_the_worker_parsed_before():
    # a chunk redelivered to another worker after a crash must give the same bytes, or the
    # profile stage refuses the column as another file's (digest of the chunk's sketch)
    events = _events(_client_chunks(_orders(3000), 32 * 1024), f"d-{uuid.uuid4().hex}")
    alone = process_chunk(events[2])
    for e in events:
        process_chunk(e)
    again = process_chunk(events[2])
    assert [c.sketch for c in again.columns] == [c.sketch for c in alone.columns]
