"""Numbers in a decimal-comma file profile as numbers, with their real magnitude."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from aurora_stream.ingest.chunker import read_table
from aurora_stream.ingest.dialect import Dialect, sniff
from aurora_stream.profile.columns import canonical_numbers, process_chunk
from aurora_stream.profile.sketch import ColumnSketch
from aurora_stream.wire.records import CsvChunk

EUROPEAN = Path(__file__).resolve().parents[2] / "examples" / "european.csv"


def test_only_whole_numbers_in_the_files_notation_change() -> None:
    frame = pl.DataFrame({"0": ["1.234,56", "12,5", "-3", "abc", "1,2,3", None, "2.024"]})
    out = canonical_numbers(frame, Dialect(delimiter=";", decimal=",", thousands="."))
    assert out["0"].to_list() == ["1234.56", "12.5", "-3", "abc", "1,2,3", None, "2024"]
    same = Dialect(delimiter=",", decimal=".")
    assert canonical_numbers(frame, same)["0"].to_list() == frame["0"].to_list()


def test_european_amounts_are_numeric_with_their_magnitude() -> None:
    dialect = sniff(EUROPEAN)
    assert dialect.decimal == ","
    header, chunks = read_table(EUROPEAN, dialect)
    chunk = next(chunks)
    wire = {**dialect.to_dict(), "encoding": "utf-8", "skip_lines": 0, "has_header": False}
    result = process_chunk(CsvChunk(dataset_id="eu", user_id="u", seq=0, last=True,
                                    first_line=chunk.first_line, data=chunk.text,
                                    columns=header, dialect=wire))
    import base64

    amount = header.index("betrag_eur")
    view = ColumnSketch.from_bytes(base64.b64decode(result.columns[amount].sketch)).view()
    assert view.numeric_frac == 1.0
    assert view.float_frac and view.float_frac > 0.9
    assert view.max is not None and view.max > 100  # 3359,67 is about 3,360, not 335,967
