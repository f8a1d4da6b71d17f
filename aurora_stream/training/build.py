"""Build the shipped global prior: trained deterministically from the synthetic generator
and SortingHat's public, labelled ``data_train.csv`` (Apache-2.0, Shah et al. 2021;
never ``data_test.csv``, which is held out for ``bench/accuracy.py``).

Building profiles a few thousand synthetic columns (~10 ms each with the live
profiler), so the trained bank ships as package data (``aurora_stream/data/prior.bin``)
and a worker only loads it (``aurora_stream.recommend.prior``). Rebuild the shipped file
after changing the generator, the policy, the fingerprint or the model configuration
(bump ``PRIOR_TAG`` in ``recommend/prior.py``)::

    python -m aurora_stream.training.build

Each synthetic column is learned twice: from its full profile, and from a
"SortingHat-like" view that keeps only what a five-sample summary would show (shape
fractions from five values, no quantiles, skew or top-k), so the prior also copes with
sparser views such as bootstrapped SortingHat rows. The SortingHat rows (one real column
each, from 1,081 public files) are mixed into the same seeded shuffle, ``REAL_REPEAT`` times
per epoch so that real columns weigh about as much as the generated ones; the bank then
counts them as real examples (``ModelBank.real_examples``: the recommender trusts the
model more than a synthetic-only prior).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from aurora_stream.profile.fields import FIELDS
from aurora_stream.profile.fingerprint import fingerprint, name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.policy import labels_for
from aurora_stream.recommend.prior import DATA_FILE, PRIOR_TAG
from aurora_stream.training.sortinghat import sample_shapes_many
from aurora_stream.training.synthetic import SyntheticColumn, generate

N_COLUMNS = 4000
REAL_REPEAT = 2
SORTINGHAT_TRAIN = (Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sortinghat"
                    / "data_train.csv")
SEED = 20260
EPOCHS = 3

_SPARSE_DROP = tuple(name for name, f in FIELDS.items() if f.sparse)


def sparse_view(view: ProfileView, sample_fracs: dict[str, float]) -> ProfileView:
    """What a SortingHat-style summary of the same column would show."""
    cleared = dict.fromkeys(_SPARSE_DROP)
    return replace(view, **cleared, **sample_fracs)  # type: ignore[arg-type]


def scaled_view(view: ProfileView, factor: float) -> ProfileView:
    """The same column as if it were ``factor`` times longer: counts grow, and so do the
    distinct values of a column whose values are mostly distinct (ids, text); a column
    that repeats a few levels keeps its levels. Real files are far longer than the
    synthetic columns (kept short so that the profile is exact and deterministic)."""
    if view.count is None or view.distinct_count is None:
        return view
    non_null = view.count - (view.null_count or 0.0)
    grows = (view.distinct_frac or 0.0) >= 0.5
    distinct = view.distinct_count * factor if grows else view.distinct_count
    return replace(
        view,
        count=view.count * factor,
        null_count=(view.null_count or 0.0) * factor,
        distinct_count=distinct,
        distinct_frac=min(distinct / (non_null * factor), 1.0) if non_null else None,
    )


def training_rows(
    columns: list[SyntheticColumn], seed: int = SEED
) -> list[tuple[dict[str, float], dict[str, str]]]:
    """(fingerprint, labels) pairs: each column's full view, its SortingHat-like view, and
    that view scaled to a 3x-1000x longer column."""
    rng = random.Random(seed)
    samples = []
    for c in columns:
        non_null = [v for v in c.values if v is not None]
        samples.append(rng.sample(non_null, min(5, len(non_null))))
    fracs = sample_shapes_many(samples)
    rows = []
    for c, f in zip(columns, fracs, strict=True):
        view = profile_values(c.values)
        flags = name_flags(c.name)
        y = labels_for(c.feature_type, view)
        rows.append((fingerprint(view, flags), y))
        sparse = sparse_view(view, f)
        rows.append((fingerprint(sparse, flags), y))
        rows.append((fingerprint(scaled_view(sparse, 10 ** rng.uniform(0.5, 3)), flags), y))
    return rows


def shuffled_epochs(rows: list, epochs: int, seed: int) -> Iterator:
    """The rows ``epochs`` times, each pass in its own seeded order (online learners
    must not see the data grouped by class)."""
    for e in range(epochs):
        order = list(rows)
        random.Random(seed + e).shuffle(order)
        yield from order


def sortinghat_rows(path: str | Path) -> list[tuple[dict[str, float], dict[str, str]]]:
    """(fingerprint, labels) of every labelled row of a SortingHat training file."""
    from aurora_stream.training.sortinghat import examples

    p = Path(path)
    if p.name == "data_test.csv":
        raise ValueError("data_test.csv is held out for measurement; never learn from it")
    return [(fingerprint(ex.view, ex.flags), labels_for(ex.feature_type, ex.view))
            for ex in examples(p)]


def build_prior(n_columns: int = N_COLUMNS, seed: int = SEED, epochs: int = EPOCHS,
                sortinghat: str | Path | None = None) -> ModelBank:
    """Train a fresh bank's prior from ``n_columns`` synthetic columns and, when given, the
    rows of a SortingHat training file (deterministic)."""
    bank = ModelBank()
    rows = training_rows(generate(n_columns, seed), seed)
    real = sortinghat_rows(sortinghat) if sortinghat is not None else []
    bank.learn_many(shuffled_epochs(rows + real * REAL_REPEAT, epochs, seed))
    bank.mark_synthetic(PRIOR_TAG)
    bank.real_examples = len(real)
    return bank


def main(argv: list[str]) -> int:
    """``[PATH]``: train the prior and write it (default: the package data file)."""
    if argv and argv[0] == "build":  # the old spelling
        argv = argv[1:]
    if len(argv) > 1:
        print("usage: python -m aurora_stream.training.build [PATH]", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else Path(__file__).parents[1] / "data" / DATA_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    if not SORTINGHAT_TRAIN.is_file():
        print(f"SortingHat training data not found at {SORTINGHAT_TRAIN}", file=sys.stderr)
        return 1
    bank = build_prior(sortinghat=SORTINGHAT_TRAIN)
    out.write_bytes(bank.to_bytes())
    print(f"wrote {out} ({out.stat().st_size} bytes, {PRIOR_TAG}, "
          f"{bank.real_examples} SortingHat rows + {N_COLUMNS} synthetic columns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
