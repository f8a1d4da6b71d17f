"""Contract of a mergeable metric: zero identity, associative, commutative, round-trips,
inputs never mutated, odd input counted rather than raised."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sketch_assertions import assert_views_match, sketch_of

from aurora_stream.profile.accumulate import ColumnAccumulator
from aurora_stream.profile.moments import Moments
from aurora_stream.profile.sketch import ColumnSketch, sketch_frame

columns = st.lists(
    st.one_of(st.none(), st.integers(-999, 999).map(str), st.sampled_from(["a", "b b", "1.5"])),
    max_size=30,
)


def _distinct(*cols: list[str | None]) -> int:
    return len({v for c in cols for v in c if v is not None})


@settings(max_examples=40, deadline=None)
@given(columns)
def test_zero_sketch_is_the_identity_of_merge(col):
    s = sketch_of(col)
    for merged in (s.merge(ColumnSketch()), ColumnSketch().merge(s)):
        assert merged.view() == s.view()


@settings(max_examples=40, deadline=None)
@given(columns, columns, columns)
def test_merge_is_associative_and_commutative(a, b, c):
    sa, sb, sc = (sketch_of(x).at_seq(i) for i, x in enumerate((a, b, c)))
    n = _distinct(a, b, c)
    left, right = (sa + sb) + sc, sa + (sb + sc)
    assert_views_match(left.view(), right.view(), true_distinct=n)
    assert_views_match((sc + sa + sb).view(), left.view(), true_distinct=n)


@settings(max_examples=40, deadline=None)
@given(columns, columns)
def test_merge_and_view_leave_their_inputs_untouched(a, b):
    sa, sb = sketch_of(a), sketch_of(b)
    before = (sa.to_bytes(), sb.to_bytes())
    sa.merge(sb)
    sa.view()
    sb + sa
    assert (sa.to_bytes(), sb.to_bytes()) == before


def test_update_leaves_the_input_series_untouched():
    series = pl.Series("v", ["1", None, " x "])
    ColumnSketch().update(series)
    assert series.to_list() == ["1", None, " x "]


@settings(max_examples=40, deadline=None)
@given(columns)
def test_sketch_round_trips_through_bytes(col):
    s = sketch_of(col)
    back = ColumnSketch.from_bytes(s.to_bytes())
    assert back.view() == s.view()
    again = ColumnSketch.from_bytes(back.to_bytes())  # bytes are not canonical (the
    assert again.view() == s.view()  # frequent sketch's item order), their meaning is
    assert again.top_counts(10) == s.top_counts(10)
    assert again.distinct_bounds(1) == s.distinct_bounds(1)


def test_accumulator_round_trips_and_keeps_ignoring_seen_chunks():
    acc = ColumnAccumulator()
    acc.add(1, sketch_of(["3", "4"]), last=True)
    back = ColumnAccumulator.from_bytes(acc.to_bytes())
    assert not back.add(1, sketch_of(["3", "4"]), last=True)
    assert not back.complete
    assert back.add(0, sketch_of(["1", "2"]), last=False)
    assert back.complete
    assert back.sketch.view().count == 4
    assert back.sketch.view().is_monotonic == 1.0


def test_accumulator_is_incomplete_until_every_chunk_arrived():
    acc = ColumnAccumulator()
    assert acc.add(2, sketch_of(["c"]), last=True)
    assert acc.add(0, sketch_of(["a"]), last=False)
    assert not acc.complete and acc.seen == 2
    assert acc.add(1, sketch_of(["b"]), last=False)
    assert acc.complete


def test_out_of_order_chunks_reveal_a_decreasing_column_only_when_placed():
    chunks = [["9", "8"], ["7", "6"], ["5", "1"]]
    acc = ColumnAccumulator()
    for seq in (2, 0, 1):
        acc.add(seq, sketch_of(chunks[seq]), last=seq == 2)
    assert acc.sketch.view().is_monotonic == 1.0
    unplaced = sketch_of(chunks[2]) + sketch_of(chunks[0])
    assert unplaced.view().is_monotonic is None  # order unknown: not guessed
    acc2 = ColumnAccumulator()
    for seq, chunk in enumerate([["1", "2"], ["9", "3"]]):
        acc2.add(seq, sketch_of(chunk), last=seq == 1)
    assert acc2.sketch.view().is_monotonic == 0.0


def test_odd_input_is_counted_not_raised():
    s = ColumnSketch()
    s.update(pl.Series("v", [1, 2, None]))  # not Utf8: cast
    s.update(pl.Series("v", [], dtype=pl.Utf8))
    s.update(pl.Series("v", [None, None], dtype=pl.Utf8))
    s.update(pl.Series("v", ["\x00", "🙂", "1e999", "nan", "-0", " "]))
    v = s.view()
    assert v.count == 11 and v.null_count == 5  # "nan" and " " are missing markers
    assert v.numeric_frac == pytest.approx(3 / 6)  # 1, 2, -0 (1e999 is not finite)


def test_bytes_that_are_not_a_sketch_raise_value_error():
    with pytest.raises(ValueError):
        ColumnSketch.from_bytes(b"not json")
    with pytest.raises(ValueError):
        ColumnSketch.from_bytes(b'{"v": 99}')


def test_sketches_of_different_hash_keys_refuse_to_merge(monkeypatch):
    a = sketch_of(["x"])
    monkeypatch.setenv("AURORA_SKETCH_KEY", "another secret")
    b = sketch_of(["x"])
    with pytest.raises(ValueError, match="cannot merge"):
        a.merge(b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), max_size=20), st.lists(st.floats(-1e6, 1e6), max_size=20))
def test_moments_merge_like_one_pass(a, b):
    merged, whole = Moments.of(a) + Moments.of(b), Moments.of(a + b)
    assert merged.n == whole.n
    scale = max([1.0, *(abs(x) for x in a + b)])
    assert merged.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-9 * scale)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-7, abs=1e-7 * scale**2)
    assert merged.m3 == pytest.approx(whole.m3, rel=1e-6, abs=1e-6 * scale**3)
    assert merged.m4 == pytest.approx(whole.m4, rel=1e-6, abs=1e-6 * scale**4)


# --- untrusted sketch bytes (a column-chunk event comes from any client) ----------------
def _doc_of(values):
    import orjson

    return orjson.loads(sketch_frame(pl.DataFrame({"v": values}))[0].to_bytes())


def test_forged_sketch_parameters_are_refused_before_any_allocation() -> None:
    import base64

    import orjson

    doc = _doc_of([f"a{i}" for i in range(50)])
    blob = bytearray(base64.b64decode(doc["freq"]))
    blob[3] = blob[4] = 26  # a 300-byte sketch asking for a 2^26-entry map (~480 MB)
    doc["freq"] = base64.b64encode(bytes(blob)).decode()
    with pytest.raises(ValueError, match="parameters"):
        ColumnSketch.from_bytes(orjson.dumps(doc))


@pytest.mark.parametrize("field,value", [("len", ["a", "b"]), ("len", [[1], 5]),
                                         ("range", [True, 1]), ("hll", "@@not base64@@")])
def test_malformed_sketch_fields_are_refused_not_crashed_on_later(field, value) -> None:
    import orjson

    doc = _doc_of(["x", "y"])
    doc[field] = value
    with pytest.raises(ValueError, match="not a column sketch"):
        ColumnSketch.from_bytes(orjson.dumps(doc))
