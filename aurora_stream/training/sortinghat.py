"""SortingHat rows (one labelled column each) as ProfileViews, and replay into the prior.

Mapping of one row onto ``ProfileView`` (``None`` = not derivable, never invented):

=========================  ==============================================================
view field                 source
=========================  ==============================================================
count, null_count          ``total_vals``, ``num_nans``
null_frac                  ``%_nans`` / 100
distinct_count             ``num_of_dist_val``
distinct_frac              ``num_of_dist_val`` / (``total_vals`` - ``num_nans``), capped at 1
is_unique                  1 when ``num_of_dist_val`` equals the non-null count, else 0
is_constant                1 when ``num_of_dist_val`` == 1, else 0 (None when all null)
mean, std, min, max        ``mean``, ``std_dev``, ``min_val``, ``max_val``, only when the
                           column is numeric-looking (some sample parses as a number) or
                           one of them is non-zero, and never when all four are 0.0 while
                           the column has several distinct values: that is SortingHat's
                           placeholder for columns pandas did not parse as numbers
negative_frac              0 when ``min_val`` >= 0 (else unknown)
len_mean, len_std          ``mean_char_count``, ``stdev_char_count``
word_mean, word_std        ``mean_word_count``, ``std_dev_word_count``
stopword_mean, _std        ``mean_stopword_total``, ``stdev_stopword_total``
whitespace_mean, _std      ``mean_whitespace_count``, ``stdev_whitespace_count``
delim_mean, delim_std      ``mean_delim_count``, ``stdev_delim_count``
shape fractions            ``numeric_frac``, ``int_frac``, ``float_frac``, ``bool_frac``,
                           ``date_frac``, ``time_frac``, ``email_frac``, ``url_frac``,
                           ``phone_frac``, ``currency_frac``, ``percent_frac``,
                           ``embedded_number_frac``, ``list_frac``, ``alpha_frac``,
                           ``leading_zero_frac``: profiled from the five samples with the
                           live profiler (``profile_values``), so shapes mean the same thing
                           in bootstrap and in production; when a sample-derived fraction is
                           0 but the row's ``has_url`` / ``has_email`` / ``has_date`` /
                           ``is_list`` flag is true, the fraction is set to 0.2 (one sample)
top1_frac, top5_frac,      not in SortingHat: None
skew, kurtosis, q01..q99,
zero_frac, len_min/max,
is_monotonic
=========================  ==============================================================

``Attribute_name`` only becomes name flags (``fingerprint.name_flags``); neither the name
nor the samples are stored anywhere. ``y_act`` is the feature type; the transformation and
imputation labels come from ``policy`` (SortingHat has none).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from aurora_stream.profile import shapes
from aurora_stream.profile.fields import FIELDS
from aurora_stream.profile.fingerprint import fingerprint, name_flags
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.policy import labels_for

if TYPE_CHECKING:
    from aurora_stream.recommend.models import ModelBank

SAMPLE_NULLS = frozenset({"", "none", "nan", "null", "na", "n/a"})
SHAPE_FIELDS: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if f.sortinghat == "samples")
"""Value shapes SortingHat does not give: estimated from its five sample values."""
_TEXT_FIELDS = {n: f.sortinghat for n, f in FIELDS.items()
                if f.bucket == "per_value" and f.sortinghat}
_MOMENTS = {n: f.sortinghat for n, f in FIELDS.items() if f.bucket == "signed" and f.sortinghat}
_FLAG_SHAPES = {"has_url": "url_frac", "has_email": "email_frac", "has_date": "date_frac",
                "is_list": "list_frac"}


def _num(s: object) -> float | None:
    if s is None:
        return None
    try:
        x = float(str(s))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _true(s: object) -> bool:
    return str(s).strip().lower() in ("true", "1", "yes")


def _clean(samples: Sequence[object]) -> list[str]:
    out = []
    for s in samples:
        if s is None:
            continue
        text = str(s)
        if text.strip().lower() not in SAMPLE_NULLS:
            out.append(text)
    return out


def sample_shapes_many(sample_lists: Sequence[Sequence[object]]) -> list[dict[str, float]]:
    """Shape fractions of each list of samples (nulls dropped), in one vectorized pass
    with the live profiler's shape definitions (``profile.shapes``)."""
    rows, vals = [], []
    for i, samples in enumerate(sample_lists):
        for v in _clean(samples):
            rows.append(i)
            vals.append(v)
    out: list[dict[str, float]] = [{} for _ in sample_lists]
    if not vals:
        return out
    masks = shapes.shape_masks(pl.col("v"))
    frame = pl.DataFrame({"row": rows, "v": vals}, schema={"row": pl.Int64, "v": pl.Utf8})
    fracs = (
        frame.lazy()
        .select(pl.col("row"), *(m.cast(pl.Float64).alias(f"{k}_frac") for k, m in masks.items()))
        .group_by("row")
        .agg(pl.all().mean())
        .collect()
    )
    for rec in fracs.iter_rows(named=True):
        i = rec.pop("row")
        out[i] = {k: float(v) for k, v in rec.items() if v is not None}
    return out


def sample_shapes(samples: Sequence[object]) -> dict[str, float]:
    """Shape fractions of one list of samples (see ``sample_shapes_many``)."""
    return sample_shapes_many([samples])[0]


def row_to_view(row: Mapping[str, object], sample_fracs: dict[str, float] | None = None
                ) -> ProfileView:
    """One SortingHat row as a ProfileView (see the module docstring for the mapping).

    ``sample_fracs`` (from ``sample_shapes_many``) saves profiling the samples again.
    """
    out: dict[str, float] = {}
    total, nans = _num(row.get("total_vals")), _num(row.get("num_nans"))
    pct_nans, dist = _num(row.get("%_nans")), _num(row.get("num_of_dist_val"))
    if total is not None:
        out["count"] = total
    if nans is not None:
        out["null_count"] = nans
    if pct_nans is not None:
        out["null_frac"] = min(max(pct_nans / 100.0, 0.0), 1.0)
    elif total and nans is not None:
        out["null_frac"] = nans / total
    if dist is not None:
        out["distinct_count"] = dist
        non_null = None if total is None or nans is None else total - nans
        if non_null is not None and non_null > 0:
            out["distinct_frac"] = min(dist / non_null, 1.0)
            out["is_unique"] = 1.0 if dist >= non_null else 0.0
            out["is_constant"] = 1.0 if dist == 1 else 0.0

    if sample_fracs is None:
        sample_fracs = sample_shapes([row.get(f"sample_{i}") for i in range(1, 6)])
    fracs = dict(sample_fracs)
    for flag, field in _FLAG_SHAPES.items():
        if _true(row.get(flag)) and fracs.get(field, 0.0) == 0.0:
            fracs[field] = 0.2
    out.update(fracs)

    moments = {k: _num(row.get(src)) for k, src in _MOMENTS.items()}
    placeholder = all(v == 0.0 for v in moments.values()) and (dist or 0) > 1
    numeric_looking = fracs.get("numeric_frac", 0.0) > 0
    if not placeholder and (numeric_looking or any(v not in (None, 0.0) for v in moments.values())):
        out.update({k: v for k, v in moments.items() if v is not None})
        if moments["min"] is not None and moments["min"] >= 0:
            out["negative_frac"] = 0.0

    for field, src in _TEXT_FIELDS.items():
        v = _num(row.get(src))
        if v is not None:
            out[field] = v
    return ProfileView.from_dict(out)


def read_rows(path: str | Path) -> list[dict[str, object]]:
    """The rows of a SortingHat CSV as dicts of strings (a real CSV parser: samples hold
    commas, quotes and newlines)."""
    return pl.read_csv(path, infer_schema_length=0).to_dicts()


@dataclass(frozen=True)
class Example:
    """A SortingHat row as the recommender sees it: view, name flags, label."""

    view: ProfileView
    flags: tuple[str, ...]
    feature_type: str


def examples(path: str | Path) -> list[Example]:
    """Every labelled row of a SortingHat file (samples profiled in one pass)."""
    rows = [r for r in read_rows(path) if r.get("y_act")]
    fracs = sample_shapes_many([[r.get(f"sample_{i}") for i in range(1, 6)] for r in rows])
    return [
        Example(row_to_view(r, f), name_flags(str(r.get("Attribute_name") or "")),
                str(r["y_act"]))
        for r, f in zip(rows, fracs, strict=True)
    ]


def replay_sortinghat(
    path: str | Path,
    bank: ModelBank,
    user_id: str | None = None,
    to_prior: bool = True,
    *,
    seed: int | None = 0,
    epochs: int = 3,
) -> int:
    """Learn every row of a SortingHat file into ``bank`` (the prior by default).

    Rows are replayed in a seeded shuffled order (``seed=None`` keeps file order): the
    files list columns grouped by source file, and online learners must not see the
    data grouped; ``epochs`` passes (3 by default, ~20 s for data_train.csv) help the
    SGD-trained prior. Returns the number of rows. Refuses ``data_test.csv``.
    """
    p = Path(path)
    if p.name == "data_test.csv":
        raise ValueError("data_test.csv is held out for measurement; never learn from it")
    if not to_prior and user_id is None:
        raise ValueError("replaying into a user's model needs a user_id")
    rows = [(fingerprint(ex.view, ex.flags), labels_for(ex.feature_type, ex.view))
            for ex in examples(p)]
    for e in range(epochs):
        order = list(rows)
        if seed is not None:
            random.Random(seed + e).shuffle(order)
        for fp, y in order:
            bank.learn_one(fp, y, user_id or "", to_prior=to_prior)
    return len(rows)
