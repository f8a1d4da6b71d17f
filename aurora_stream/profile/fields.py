"""Every statistic of a column profile, declared once: ONE table that the view, the
fingerprint, the models, the prior build, differential privacy and the SortingHat import
all read. Adding a statistic is one line here (plus computing it in ``sketch.py`` and a
prior rebuild, ``python -m aurora_stream.training.build``).

Columns of the table:

* ``bucket``: how ``fingerprint`` coarsens the value: ``fraction`` (tenths, exact 0 and 1
  kept apart), ``count`` (half-decades of log10(1+n)), ``signed`` (quarter-decades with
  the sign), ``clamp`` (rounded, within +-10), ``per_value`` (half-steps of log2(1+v));
* ``absent_tells``: the models see ``name=?`` when the field is unknown (its absence
  says something, e.g. no numeric moments: nothing parsed as a number);
* ``dp``: the range on which the field is shared with the global prior under local
  differential privacy (``privacy/dp.py``), ``None`` = never shared;
* ``sparse``: dropped from the "SortingHat-like" view the prior also learns from (what a
  five-sample summary cannot show);
* ``sortinghat``: the SortingHat feature it is read from, ``"samples"`` for value shapes
  estimated from the five sample values, ``None`` when SortingHat has no equivalent.

>>> FIELDS["url_frac"].bucket, FIELDS["url_frac"].dp
('fraction', (0.0, 1.0))
>>> [f.name for f in FIELDS.values() if f.dp][:3]
['null_frac', 'distinct_count', 'distinct_frac']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    bucket: str
    doc: str
    absent_tells: bool = False
    dp: tuple[float, float] | None = None
    sparse: bool = False
    sortinghat: str | None = None


_F, _C, _S, _K, _P = "fraction", "count", "signed", "clamp", "per_value"
_01 = (0.0, 1.0)

FIELDS: dict[str, Field] = {f.name: f for f in (
    # --- counts
    Field("count", _C, "rows seen (nulls included)", sortinghat="total_vals"),
    Field("null_count", _C, "null values", sortinghat="num_nans"),
    Field("null_frac", _F, "null_count / count", dp=_01, sortinghat="%_nans"),
    Field("distinct_count", _C, "estimated distinct non-null values", absent_tells=True,
          dp=(0.0, 8.0), sortinghat="num_of_dist_val"),
    Field("distinct_frac", _F, "distinct_count / non-null count", dp=_01),
    Field("top1_frac", _F, "share of the most frequent value", absent_tells=True,
          sparse=True),
    Field("top5_frac", _F, "share of the five most frequent values", sparse=True),
    # --- value shapes: fraction of non-null values that look like ...
    Field("numeric_frac", _F, "a number (int or float, after cleaning)", absent_tells=True,
          dp=_01, sortinghat="samples"),
    Field("int_frac", _F, "an integer literal", dp=_01, sortinghat="samples"),
    Field("float_frac", _F, "a number with a fractional part", sortinghat="samples"),
    Field("bool_frac", _F, "true/false/yes/no/y/n/t/f (0/1 not counted)",
          sortinghat="samples"),
    Field("date_frac", _F, "a date or datetime in a common format", dp=_01,
          sortinghat="samples"),
    Field("time_frac", _F, "a time of day alone", sortinghat="samples"),
    Field("email_frac", _F, "an e-mail address", sortinghat="samples"),
    Field("url_frac", _F, "a URL", dp=_01, sortinghat="samples"),
    Field("phone_frac", _F, "a phone number", sortinghat="samples"),
    Field("currency_frac", _F, "a number with a currency sign or code", sortinghat="samples"),
    Field("percent_frac", _F, "a number with a % sign", sortinghat="samples"),
    Field("embedded_number_frac", _F, "text that contains a number but is not one",
          sortinghat="samples"),
    Field("list_frac", _F, "delimiter-separated items of similar shape", sortinghat="samples"),
    Field("alpha_frac", _F, "contains at least one letter", dp=_01, sortinghat="samples"),
    Field("leading_zero_frac", _F, "digit strings starting with 0 (codes, zips)",
          sortinghat="samples"),
    # --- numeric moments and order statistics (values coarsened, see sketch.py)
    Field("mean", _S, "mean of numeric values", absent_tells=True, sortinghat="mean"),
    Field("std", _S, "standard deviation", absent_tells=True, sortinghat="std_dev"),
    Field("skew", _K, "skewness", absent_tells=True, sparse=True),
    Field("kurtosis", _K, "excess kurtosis", sparse=True),
    Field("min", _S, "minimum", absent_tells=True, sortinghat="min_val"),
    Field("max", _S, "maximum", sortinghat="max_val"),
    Field("q01", _S, "1st percentile", sparse=True),
    Field("q25", _S, "25th percentile", sparse=True),
    Field("q50", _S, "median", absent_tells=True, sparse=True),
    Field("q75", _S, "75th percentile", sparse=True),
    Field("q99", _S, "99th percentile", sparse=True),
    Field("negative_frac", _F, "negative numeric values"),
    Field("zero_frac", _F, "numeric values equal to 0", sparse=True),
    # --- text shape, per non-null value
    Field("len_mean", _P, "characters", absent_tells=True, sortinghat="mean_char_count"),
    Field("len_std", _P, "characters, spread", sortinghat="stdev_char_count"),
    Field("len_min", _P, "shortest value", sparse=True),
    Field("len_max", _P, "longest value", sparse=True),
    Field("word_mean", _P, "words", dp=(0.0, 6.0), sortinghat="mean_word_count"),
    Field("word_std", _P, "words, spread", sortinghat="std_dev_word_count"),
    Field("whitespace_mean", _P, "whitespace characters", sortinghat="mean_whitespace_count"),
    Field("whitespace_std", _P, "whitespace, spread", sortinghat="stdev_whitespace_count"),
    Field("delim_mean", _P, ", ; | / - and similar separators", sortinghat="mean_delim_count"),
    Field("delim_std", _P, "separators, spread", sortinghat="stdev_delim_count"),
    Field("stopword_mean", _P, "English stopwords", sortinghat="mean_stopword_total"),
    Field("stopword_std", _P, "stopwords, spread", sortinghat="stdev_stopword_total"),
    # --- structure
    Field("is_unique", _F, "1.0 when every non-null value is distinct"),
    Field("is_monotonic", _F, "1.0 when numeric values only increase (or decrease)",
          absent_tells=True, sparse=True),
    Field("is_constant", _F, "1.0 when a single distinct non-null value"),
)}

BUCKETS = frozenset({_F, _C, _S, _K, _P})
if any(f.bucket not in BUCKETS for f in FIELDS.values()):  # pragma: no cover - guards edits
    raise RuntimeError("unknown bucket kind in FIELDS")
