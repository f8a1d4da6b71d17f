"""Which transformation and imputation a careful data scientist picks, given the type.

Once the feature type is known, the action mostly follows from the statistics: skewed
positive numbers get ``log1p``, heavy tails get ``robust_scale``, many categories get
``target``/``frequency`` encoding, numeric nulls in skewed columns get the ``median``...
The same policy labels the synthetic training columns (``synthetic.py``) and backs the
symbolic rules, so the model and the rules agree on what "sensible" means; user
corrections then move the per-user models away from it.

Each choice returns ``(label, confidence, reason)``; the reason cites the statistic.

>>> from aurora_stream.profile.view import ProfileView
>>> choose_transformation("numeric", ProfileView(min=0.0, skew=4.2, distinct_count=900))[0]
'log1p'
>>> choose_imputation("categorical", ProfileView(null_frac=0.1))[0]
'mode'
"""

from __future__ import annotations

from aurora_stream.profile.view import ProfileView

Choice = tuple[str, float, str]


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:.0f}%"


def _numeric_transformation(v: ProfileView) -> Choice:
    if v.distinct_count is not None and v.distinct_count <= 2:
        return "keep", 0.8, f"only {v.distinct_count:.0f} distinct values (a flag)"
    skew = v.skew
    if skew is not None and v.min is not None and v.min >= 0 and skew >= 2.0:
        return "log1p", 0.8, f"non-negative and right-skewed (skew {skew:.1f})"
    spread = None
    if None not in (v.q01, v.q99, v.max, v.min):
        spread = (v.q99 - v.q01) or 1e-12  # type: ignore[operator]
        tail = max(v.max - v.q99, v.q01 - v.min)  # type: ignore[operator]
        if tail > 5 * spread:
            return "clip_outliers", 0.65, f"extremes lie {tail / spread:.0f}x the 1-99% range away"
    kurt = v.kurtosis
    if (kurt is not None and kurt >= 7.0) or (skew is not None and abs(skew) >= 2.0):
        return "robust_scale", 0.7, f"heavy tails (kurtosis {kurt or 0:.1f}, skew {skew or 0:.1f})"
    if skew is None and kurt is None and spread is None:
        far = _tail_sigmas(v)
        if far is not None and far >= 6.0:
            if v.min is not None and v.min >= 0:
                return "log1p", 0.65, f"non-negative, maximum {far:.0f} std above the mean"
            return "robust_scale", 0.65, f"extremes {far:.0f} std from the mean (heavy tails)"
        return "standard_scale", 0.5, "no shape statistics; plain standardisation"
    return "standard_scale", 0.7, f"roughly symmetric (skew {skew or 0:.1f})"


def _tail_sigmas(v: ProfileView) -> float | None:
    """How many standard deviations the farther extreme lies from the mean (a tail
    measure for summaries without skew or quantiles)."""
    if None in (v.mean, v.std, v.min, v.max) or not v.std:
        return None
    return max(v.max - v.mean, v.mean - v.min) / v.std  # type: ignore[operator]


def _categorical_transformation(v: ProfileView) -> Choice:
    n = v.distinct_count
    if n is None:
        return "one_hot", 0.45, "cardinality unknown"
    if (
        v.int_frac is not None
        and v.int_frac >= 0.99
        and 3 <= n <= 10
        and v.min is not None
        and v.max is not None
        and v.max - v.min + 1 <= 2 * n
    ):
        return "ordinal", 0.6, f"{n:.0f} small integer levels ({v.min:.0f}..{v.max:.0f})"
    if n <= 15:
        return "one_hot", 0.8, f"{n:.0f} distinct values"
    if n <= 200:
        return "target", 0.75, f"{n:.0f} distinct values (too many for one-hot)"
    return "frequency", 0.85, f"{n:.0f} distinct values (high cardinality: one-hot would " \
        "add a column per level)"


def choose_transformation(feature_type: str, v: ProfileView) -> Choice:
    """The transformation for a column of ``feature_type`` with profile ``v``."""
    if feature_type == "numeric":
        return _numeric_transformation(v)
    if feature_type == "categorical":
        return _categorical_transformation(v)
    if feature_type == "datetime":
        if (v.numeric_frac or 0) >= 0.9 and (v.date_frac or 0) < 0.5:
            return "to_timestamp", 0.6, f"{_pct(v.numeric_frac)} numeric (epoch-like) values"
        return "extract_parts", 0.8, "dates carry year/month/weekday parts"
    if feature_type == "sentence":
        if (v.distinct_count or 0) > 100_000:
            return "hashing", 0.6, f"{v.distinct_count:.0f} distinct texts (large vocabulary)"
        return "tfidf", 0.8, "free text"
    if feature_type == "url":
        return "extract_domain", 0.75, "the domain generalises, the full URL does not"
    if feature_type == "embedded-number":
        return "extract_number", 0.8, "a number wrapped in text"
    if feature_type == "list":
        if (v.distinct_frac or 0) >= 0.5:
            return "count_items", 0.6, f"{_pct(v.distinct_frac)} distinct lists"
        return "multi_hot", 0.7, f"lists repeat ({_pct(v.distinct_frac)} distinct)"
    if feature_type == "not-generalizable":
        return "drop", 0.95, "no signal that generalises"
    if feature_type == "context-specific":
        return "drop", 0.6, "needs domain knowledge to use"
    raise ValueError(f"unknown feature type {feature_type!r}")


def choose_imputation(feature_type: str, v: ProfileView) -> Choice:
    """The imputation for a column of ``feature_type`` with profile ``v``."""
    nf = v.null_frac
    if feature_type in ("not-generalizable", "context-specific"):
        return "none", 0.8, "the column is dropped"
    if nf is None:
        return "none", 0.4, "null share unknown"
    if nf == 0:
        return "none", 0.9, "no missing values"
    flag = "; add a missing-indicator column" if nf >= 0.3 else ""
    if feature_type == "numeric":
        if nf > 0.5:
            return "constant", 0.7, f"{_pct(nf)} missing: a sentinel keeps the signal{flag}"
        skewed = (v.skew is not None and abs(v.skew) >= 1.0) or (
            v.kurtosis is not None and v.kurtosis >= 7.0
        )
        if skewed:
            return "median", 0.8, (f"{_pct(nf)} missing, skewed values (skew {v.skew or 0:.1f})"
                                   f"{flag}")
        far = _tail_sigmas(v)
        if far is not None and far >= 6.0:
            return "median", 0.75, f"{_pct(nf)} missing, extremes {far:.0f} std out{flag}"
        return "mean", 0.7, f"{_pct(nf)} missing, roughly symmetric values{flag}"
    if feature_type == "categorical":
        if nf > 0.3:
            return "constant", 0.7, f"{_pct(nf)} missing: 'missing' as its own category"
        return "mode", 0.8, f"{_pct(nf)} missing"
    if feature_type == "datetime":
        return "median", 0.6, f"{_pct(nf)} missing dates{flag}"
    return "constant", 0.7, f"{_pct(nf)} missing: empty value{flag}"


def labels_for(feature_type: str, v: ProfileView) -> dict[str, str]:
    """All three targets for a column whose type is known: the type and the policy's actions."""
    return {
        "feature_type": feature_type,
        "transformation": choose_transformation(feature_type, v)[0],
        "imputation": choose_imputation(feature_type, v)[0],
    }
