"""The synthetic generator: deterministic, covers all nine types, labels a data scientist
would pick."""

from __future__ import annotations

import collections

from aurora_stream.training.synthetic import MAX_ROWS, generate, labelled_columns
from aurora_stream.vocab import FEATURE_TYPES, is_valid


def test_same_seed_same_columns_other_seed_other_columns() -> None:
    assert generate(50, seed=5) == generate(50, seed=5)
    assert generate(50, seed=5) != generate(50, seed=6)


def test_all_nine_types_appear_with_realistic_shapes() -> None:
    cols = generate(600, seed=2)
    counts = collections.Counter(c.feature_type for c in cols)
    assert set(counts) == set(FEATURE_TYPES)
    assert all(len(c.values) <= MAX_ROWS for c in cols)
    assert any(c.values.count(None) > 0 for c in cols)
    assert all(c.name for c in cols)


def test_labels_are_valid_and_follow_the_statistics() -> None:
    rows = list(labelled_columns(150, seed=4))
    assert all(is_valid(*(y[k] for k in ("feature_type", "transformation", "imputation")))
               for _, _, y in rows)
    by_type = collections.defaultdict(set)
    for values, _, y in rows:
        by_type[y["feature_type"]].add(y["transformation"])
        if y["feature_type"] == "numeric" and None not in values:
            assert y["imputation"] == "none"
    assert {"log1p", "standard_scale"} <= by_type["numeric"]
    assert by_type["not-generalizable"] == {"drop"}
