"""Comparison of views that tolerates exactly what the sketches document, nothing more."""

from __future__ import annotations

import math

import polars as pl

from aurora_stream.profile import shapes
from aurora_stream.profile.sketch import (
    FREQ_FEED,
    FREQ_LG_MAX_MAP,
    HLL_LG_K,
    SHAPE_FRAC_TOLERANCE,
    TEXT_MEAN_TOLERANCE,
    ColumnSketch,
    sketch_frame,
)
from aurora_stream.profile.view import ProfileView

COARSENED = {"mean", "std", "min", "max", "q01", "q25", "q50", "q75", "q99", "skew", "kurtosis"}
HLL_RSE = 1.04 / math.sqrt(2**HLL_LG_K)
FREQ_EXACT_ITEMS = 0.75 * 2**FREQ_LG_MAX_MAP  # below this many distinct values, counts are exact
FREQ_EPS = 3.5 / 2**FREQ_LG_MAX_MAP + 1.0 / (FREQ_FEED + 1)  # per-item error / non-null count
QUANTILES = {"q01", "q25", "q50", "q75", "q99"}
ESTIMATED_FRACS = {f"{k}_frac" for k in shapes.TEXT_SHAPES}
ESTIMATED_TEXT = {f"{k}_{s}" for k in shapes.TEXT_ONLY_COUNTS for s in ("mean", "std")}


def sketch_of(values: list[str | None]) -> ColumnSketch:
    return sketch_frame(pl.DataFrame({"v": values}, schema={"v": pl.Utf8}))[0]


def assert_views_match(got: ProfileView, want: ProfileView, *, true_distinct: int,
                       estimated: bool = False) -> None:
    """Counts, fractions, text moments: equal up to float rounding. Coarsened numeric
    fields: equal up to one step of the 3rd significant digit (a float-rounding
    difference may cross a rounding boundary); quantiles exactly (deterministic
    histogram). Distinct: within 3 HLL standard errors. ``estimated`` (a chunk had more
    than ``SHAPE_SAMPLE`` non-numeric distinct values): the text shape fractions and
    word/whitespace/delim/stopword moments within the documented sampling tolerance."""
    g, w = got.to_dict(), want.to_dict()
    assert g.keys() == w.keys(), (g.keys() ^ w.keys())
    for key, want_value in w.items():
        value = g[key]
        if key in ("distinct_count", "distinct_frac", "is_unique", "is_constant"):
            continue
        if key in ("top1_frac", "top5_frac") and true_distinct >= FREQ_EXACT_ITEMS:
            k = 1 if key == "top1_frac" else 5
            assert abs(value - want_value) <= 2 * k * FREQ_EPS, key
            continue
        if estimated and key in ESTIMATED_FRACS:
            assert abs(value - want_value) <= SHAPE_FRAC_TOLERANCE, (key, value, want_value)
            continue
        if estimated and key in ESTIMATED_TEXT:
            scale = max(abs(want_value), 1.0)
            assert abs(value - want_value) <= TEXT_MEAN_TOLERANCE * scale, (key, value,
                                                                            want_value)
            continue
        if key in QUANTILES:
            assert value == want_value, (key, value, want_value)
        elif key in COARSENED:
            assert math.isclose(value, want_value, rel_tol=1.5e-2, abs_tol=1e-6), key
        else:
            assert math.isclose(value, want_value, rel_tol=1e-9, abs_tol=1e-9), key
    if "distinct_count" in w:
        slack = 3 * HLL_RSE * true_distinct + 1
        assert abs(g["distinct_count"] - true_distinct) <= slack
        assert abs(w["distinct_count"] - true_distinct) <= slack
    if true_distinct < 1000:  # HLL is exact in its list/set mode; frequent items exact too
        for key in ("distinct_count", "distinct_frac", "is_unique", "is_constant"):
            assert g.get(key) == w.get(key), key
