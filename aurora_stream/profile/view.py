"""The read-only summary of one column that every later stage consumes.

A ``ProfileView`` is what the recommender sees of a column: statistics only, never a
raw cell value or a column name. Every field is optional (``None`` = unknown), so a
view can also be built from other sources (e.g. a SortingHat row) that lack some
statistics; consumers must tolerate missing fields rather than invent them.

Fractions are over non-null values unless named otherwise. Numeric statistics are over
the values that parse as numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ProfileView:
    # --- counts
    count: float | None = None  # rows seen (nulls included)
    null_count: float | None = None
    null_frac: float | None = None  # null_count / count
    distinct_count: float | None = None  # estimated distinct non-null values
    distinct_frac: float | None = None  # distinct_count / non-null count
    top1_frac: float | None = None  # share of non-null values taken by the most frequent value
    top5_frac: float | None = None  # share taken by the five most frequent values
    # --- value shapes (fraction of non-null values that look like ...)
    numeric_frac: float | None = None  # parses as a number (int or float, after cleaning)
    int_frac: float | None = None  # integer literal
    float_frac: float | None = None  # number with a fractional part
    bool_frac: float | None = None  # true/false/yes/no/y/n/t/f (0/1 not counted)
    date_frac: float | None = None  # date or datetime in a common format
    time_frac: float | None = None  # time of day alone
    email_frac: float | None = None
    url_frac: float | None = None
    phone_frac: float | None = None
    currency_frac: float | None = None  # number with a currency sign or code
    percent_frac: float | None = None  # number with a % sign
    embedded_number_frac: float | None = None  # text that contains a number but is not one
    list_frac: float | None = None  # delimiter-separated items of similar shape
    alpha_frac: float | None = None  # contains at least one letter
    leading_zero_frac: float | None = None  # digit strings starting with 0 (codes, zips)
    # --- numeric moments and order statistics (values coarsened, see sketch docs)
    mean: float | None = None
    std: float | None = None
    skew: float | None = None
    kurtosis: float | None = None  # excess kurtosis
    min: float | None = None
    max: float | None = None
    q01: float | None = None
    q25: float | None = None
    q50: float | None = None
    q75: float | None = None
    q99: float | None = None
    negative_frac: float | None = None  # of numeric values
    zero_frac: float | None = None  # of numeric values
    # --- text shape (per non-null value)
    len_mean: float | None = None
    len_std: float | None = None
    len_min: float | None = None
    len_max: float | None = None
    word_mean: float | None = None
    word_std: float | None = None
    whitespace_mean: float | None = None
    whitespace_std: float | None = None
    delim_mean: float | None = None  # , ; | / - and similar separators per value
    delim_std: float | None = None
    stopword_mean: float | None = None  # English stopwords per value
    stopword_std: float | None = None
    # --- structure
    is_unique: float | None = None  # 1.0 when every non-null value is distinct
    is_monotonic: float | None = None  # 1.0 when numeric values only increase (or only decrease)
    is_constant: float | None = None  # 1.0 when a single distinct non-null value

    def to_dict(self) -> dict[str, float]:
        """The known fields only, as a plain dict (missing fields are left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileView:
        """Build from a dict, ignoring unknown keys (forward compatible)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names and v is not None})


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ProfileView))
