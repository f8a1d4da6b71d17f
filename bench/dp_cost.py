"""Accuracy cost of differential privacy on the shared prior (issue: privacy model).

Replays SortingHat's data_train.csv into the shipped prior (which since prior-v2 already
learned data_train.csv at build time, so the raw row shows over-learning, not a ceiling)
twice — once raw, once through
the privacy mechanism every user's shared corrections go through (``PrivacyGuard.share``:
randomized response on the type, Laplace on coarse features), each source file of the
training set acting as one user with the default daily budget, and, to see the mechanism
alone, once more with an unlimited budget — then measures 9-class accuracy of
rules + prior on data_test.csv (never learned from). Writes nothing.

    cd /work/main && /work/venv/bin/python bench/dp_cost.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from aurora_stream.privacy.dp import PrivacyGuard  # noqa: E402
from aurora_stream.profile.fingerprint import fingerprint  # noqa: E402
from aurora_stream.recommend.models import ModelBank  # noqa: E402
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender  # noqa: E402
from aurora_stream.training.sortinghat import examples, read_rows  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sortinghat"


def accuracy(bank: ModelBank, test: list) -> float:
    rec = Recommender(bank)
    return sum(
        rec.recommend(e.view, e.flags, "dp-bench").feature_type == e.feature_type for e in test
    ) / len(test)


def replay(
    train: list, users: list[str], guard: PrivacyGuard | None, seed: int = 0, epochs: int = 3
) -> tuple[ModelBank, int]:
    bank = load_prior()
    order = list(range(len(train)))
    shared = 0
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(order)
        for i in order:
            ex = train[i]
            fp = fingerprint(ex.view, ex.flags)
            if guard is None:
                bank.learn_one(fp, {"feature_type": ex.feature_type}, "", to_prior=True)
                continue
            if epoch:  # one release per column: replaying it would spend budget again
                continue
            update = guard.share(users[i], fp, ex.feature_type)
            if update is not None:
                shared += 1
                bank.learn_one(update.fingerprint, update.label, "", to_prior=True)
    return bank, shared


def main() -> None:
    train = examples(DATA / "data_train.csv")
    users = [f"file-{r['Record_id']}" for r in read_rows(DATA / "data_train.csv")]
    test = examples(DATA / "data_test.csv")
    base = accuracy(load_prior(), test)
    raw_bank, _ = replay(train, users, None)
    daily, n_daily = replay(train, users, PrivacyGuard(seed=1))
    unlimited, n_all = replay(train, users, PrivacyGuard(seed=1, daily_budget=1e9))
    t = Table(title="accuracy cost of DP on the shared prior (rules + prior, data_test.csv)")
    for col in ("prior trained on", "examples shared", "accuracy"):
        t.add_column(col)
    t.add_row("shipped prior (no sharing; it already learned data_train)", "0", f"{base:.4f}")
    t.add_row(
        "raw data_train (no privacy, 3 epochs)", str(len(train)), f"{accuracy(raw_bank, test):.4f}"
    )
    t.add_row(
        "DP, default budget 1.0/user/day (one day)", str(n_daily), f"{accuracy(daily, test):.4f}"
    )
    t.add_row(
        "DP mechanism, unlimited budget (1 release each)",
        str(n_all),
        f"{accuracy(unlimited, test):.4f}",
    )
    Console().print(t)


if __name__ == "__main__":
    main()
