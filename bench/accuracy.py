"""Feature-type accuracy on SortingHat's held-out data_test.csv, three ways.

(a) symbolic rules only (an untrained ModelBank), (b) rules + the shipped synthetic
prior, (c) (b) after ``aurora learn bootstrap`` with data_train.csv. For (b) and (c) the
model's own argmax ("L3 only") is shown too. Prints 9-class accuracy, per-class
precision/recall and where answers came from. Writes nothing.

    cd /work/main && /work/venv/bin/python bench/accuracy.py [--epochs N]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from aurora_stream.profile.fingerprint import fingerprint  # noqa: E402
from aurora_stream.recommend.models import ModelBank  # noqa: E402
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender  # noqa: E402
from aurora_stream.training.sortinghat import Example, examples, replay_sortinghat  # noqa: E402
from aurora_stream.vocab import FEATURE_TYPES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sortinghat"
REFERENCE = 0.9265  # Random Forest on name + stats + five samples (Shah et al. 2021)


def evaluate(rec: Recommender, test: list[Example]) -> tuple[list[str], str]:
    """Predicted types, plus a note: layers used, and accuracy with/without review."""
    preds, layers = [], collections.Counter()
    review = {True: [0, 0], False: [0, 0]}
    for ex in test:
        r = rec.recommend(ex.view, ex.flags, "bench")
        preds.append(r.feature_type)
        layers[r.layer] += 1
        review[r.needs_review][0] += 1
        review[r.needs_review][1] += r.feature_type == ex.feature_type
    (nr, kr), (na, ka) = review[True], review[False]
    note = (f"layers {dict(layers)}; needs_review {nr / len(test):.0%} of columns "
            f"(type accuracy {kr / max(nr, 1):.3f}), confident ones {ka / max(na, 1):.3f}")
    return preds, note


def model_only(bank: ModelBank, test: list[Example]) -> list[str]:
    out = []
    for ex in test:
        p = bank.predict_proba(fingerprint(ex.view, ex.flags), "bench")["feature_type"]
        out.append(max(p, key=p.__getitem__) if p else "categorical")
    return out


def table(title: str, truth: list[str], runs: dict[str, list[str]]) -> Table:
    t = Table(title=title)
    t.add_column("class")
    t.add_column("n", justify="right")
    for name in runs:
        t.add_column(f"{name}\nP / R", justify="right")
    counts = collections.Counter(truth)
    for c in FEATURE_TYPES:
        row = [c, str(counts[c])]
        for preds in runs.values():
            tp = sum(p == c and y == c for p, y in zip(preds, truth, strict=True))
            npred = sum(p == c for p in preds)
            prec = f"{tp / npred:.3f}" if npred else "  -  "
            row.append(f"{prec} / {tp / counts[c]:.3f}")
        t.add_row(*row)
    t.add_section()
    acc_row = ["accuracy", str(len(truth))]
    for preds in runs.values():
        acc = sum(p == y for p, y in zip(preds, truth, strict=True)) / len(truth)
        acc_row.append(f"[bold]{acc:.4f}[/bold]")
    t.add_row(*acc_row)
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3, help="bootstrap passes over data_train")
    args = ap.parse_args()
    console = Console(width=160)
    test = examples(DATA / "data_test.csv")
    truth = [ex.feature_type for ex in test]
    runs: dict[str, list[str]] = {}
    notes = []

    preds, note = evaluate(Recommender(ModelBank()), test)
    runs["(a) rules"] = preds
    notes.append(f"(a) {note}")

    t0 = time.perf_counter()
    prior = load_prior()
    notes.append(f"prior load: {time.perf_counter() - t0:.2f}s ({prior.prior_version()})")
    preds, note = evaluate(Recommender(prior), test)
    runs["(b) rules+prior"] = preds
    runs["(b) L3 only"] = model_only(prior, test)
    notes.append(f"(b) {note}")

    boot = prior.copy()
    t0 = time.perf_counter()
    n = replay_sortinghat(DATA / "data_train.csv", boot, epochs=args.epochs)
    notes.append(f"bootstrap: {n} rows x {args.epochs} epoch(s) in "
                 f"{time.perf_counter() - t0:.1f}s -> {boot.prior_version()}")
    preds, note = evaluate(Recommender(boot), test)
    runs["(c) +bootstrap"] = preds
    runs["(c) L3 only"] = model_only(boot, test)
    notes.append(f"(c) {note}")

    console.print(table("SortingHat data_test.csv: feature type, precision (P) / recall (R)",
                        truth, runs))
    console.print(f"reference: Random Forest on name + stats + samples = {REFERENCE}")
    for line in notes:
        console.print(line)


if __name__ == "__main__":
    main()
