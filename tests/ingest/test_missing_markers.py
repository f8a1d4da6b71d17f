"""Missing-value markers: one list, decided by the parse stage, carried to the profile."""

from __future__ import annotations

import base64

from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.profile.columns import process_chunk
from aurora_stream.profile.sketch import ColumnSketch
from aurora_stream.wire.records import CsvChunk


def _nulls(dialect: dict | None, data: str) -> list[int]:
    chunk = CsvChunk(dataset_id="d", user_id="u", seq=0, last=True, first_line=2, data=data,
                     columns=["a", "b"], dialect=dialect)
    sketches = [ColumnSketch.from_bytes(base64.b64decode(c.sketch))
                for c in process_chunk(chunk).columns]
    return [s.nulls for s in sketches]


def test_default_markers_are_counted_as_missing_case_insensitively():
    assert _nulls({"delimiter": ","}, "1,NA\n2,n/a\n3,null\n4,None\n5,?\n6,-\n7, \n8,x\n") == [
        0, 7]


def test_a_per_file_list_replaces_the_default_in_the_profile_too():
    # "-" is a value for this file: the profile must not null it with a list of its own
    d = Dialect(missing=("n.a.",)).to_dict()
    assert _nulls(d, "1,-\n2,n.a.\n3,NA\n") == [0, 1]


def test_the_sniffed_list_travels_with_the_dialect():
    d = sniff(b"a,b\n1,x\n", missing=["n.a.", "999"])
    assert Dialect.from_dict(d.to_dict()).missing == ("n.a.", "999")
    assert Dialect.from_dict({"delimiter": ";"}).missing == Dialect().missing  # configured
