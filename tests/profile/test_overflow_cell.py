"""One bad cell never loses a column: a 185-digit integer is counted, not overflowed."""

import polars as pl

from aurora_stream.profile.sketch import ColumnSketch, sketch_frame


def test_185_digit_cell_is_counted_and_the_column_survives():
    big = "1" + "2" * 184  # a list of dialling codes written as one number
    frame = pl.DataFrame({"codes": ["1", "2", big, "3"], "name": ["a", "b", "c", "d"]})
    sketches = sketch_frame(frame)
    col = ColumnSketch.from_bytes(sketches[0].to_bytes())  # the event round-trips
    assert col.cast_failures == 1
    view = col.view()
    assert view.count == 4 and view.max == 3.0 and view.mean == 2.0
    assert ColumnSketch.from_bytes(sketches[1].to_bytes()).view().count == 4
