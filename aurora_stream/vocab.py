"""The fixed vocabularies every stage speaks: feature types, transformations, imputations.

Feature types are the nine classes of the SortingHat benchmark. Each type has a small
set of transformations that make sense for it; imputations are shared.
"""

from __future__ import annotations

FEATURE_TYPES: tuple[str, ...] = (
    "numeric",
    "categorical",
    "datetime",
    "sentence",
    "url",
    "embedded-number",
    "list",
    "not-generalizable",
    "context-specific",
)

TRANSFORMATIONS: dict[str, tuple[str, ...]] = {
    "numeric": ("keep", "standard_scale", "robust_scale", "log1p", "clip_outliers"),
    "categorical": ("one_hot", "ordinal", "frequency", "target"),
    "datetime": ("extract_parts", "to_timestamp"),
    "sentence": ("tfidf", "hashing"),
    "url": ("extract_domain", "drop"),
    "embedded-number": ("extract_number", "drop"),
    "list": ("multi_hot", "count_items"),
    "not-generalizable": ("drop",),
    "context-specific": ("drop", "keep"),
}

ALL_TRANSFORMATIONS: tuple[str, ...] = tuple(
    dict.fromkeys(t for ts in TRANSFORMATIONS.values() for t in ts)
)

IMPUTATIONS: tuple[str, ...] = ("none", "mean", "median", "mode", "constant")


def is_valid(feature_type: str, transformation: str, imputation: str) -> bool:
    """True when the triple is drawn from the vocabularies and the transformation fits the type."""
    return (
        feature_type in TRANSFORMATIONS
        and transformation in TRANSFORMATIONS[feature_type]
        and imputation in IMPUTATIONS
    )
