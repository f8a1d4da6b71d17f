"""Feature-type accuracy on SortingHat's held-out data_test.csv, in one run.

(a) symbolic rules only (an untrained ModelBank); (b0) rules + a prior trained on the
synthetic generator only (the 0.1 shipped prior's recipe, built here with the current code,
or ``--before PATH`` for a saved prior file); (b) rules + the shipped prior
(``aurora_stream/data/prior.bin``: synthetic + SortingHat data_train.csv). For (b0) and (b)
the model's own argmax ("L3 only") is shown too. data_test.csv is never learned from.

Prints per-class precision/recall, accuracy and macro-F1; how often the transformation and
imputation agree with the policy's for the true type; the calibration of the shipped
prior's answers (a reliability table and PNG, ``--out``, default ``bench/out``), and how
well L4 review requests separate wrong answers from right ones at several thresholds.

    python bench/accuracy.py [--before PATH] [--out DIR]      (or: aurora bench accuracy)
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
from aurora_stream.recommend.decision import Recommendation  # noqa: E402
from aurora_stream.recommend.models import ModelBank  # noqa: E402
from aurora_stream.recommend.policy import labels_for  # noqa: E402
from aurora_stream.recommend.prior import load_prior  # noqa: E402
from aurora_stream.recommend.recommender import Recommender  # noqa: E402
from aurora_stream.training.sortinghat import Example, examples  # noqa: E402
from aurora_stream.vocab import FEATURE_TYPES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sortinghat"
REFERENCE = 0.9265  # Random Forest on name + stats + five samples (Shah et al. 2021)
BINS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


def evaluate(rec: Recommender, test: list[Example]) -> tuple[list[Recommendation], str]:
    recs, layers = [], collections.Counter()
    for ex in test:
        r = rec.recommend(ex.view, ex.flags, "bench")
        recs.append(r)
        layers[r.layer] += 1
    return recs, f"layers {dict(layers)}"


def model_only(bank: ModelBank, test: list[Example]) -> list[str]:
    out = []
    for ex in test:
        p = bank.predict_proba(fingerprint(ex.view, ex.flags), "bench")["feature_type"]
        out.append(max(p, key=p.__getitem__) if p else "categorical")
    return out


def macro_f1(preds: list[str], truth: list[str]) -> float:
    f1s = []
    for c in FEATURE_TYPES:
        tp = sum(p == c and y == c for p, y in zip(preds, truth, strict=True))
        npred, nture = sum(p == c for p in preds), sum(y == c for y in truth)
        if not nture:
            continue
        prec, rec = (tp / npred if npred else 0.0), tp / nture
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


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
    acc_row, f1_row = ["accuracy", str(len(truth))], ["macro-F1", ""]
    for preds in runs.values():
        acc = sum(p == y for p, y in zip(preds, truth, strict=True)) / len(truth)
        acc_row.append(f"[bold]{acc:.4f}[/bold]")
        f1_row.append(f"{macro_f1(preds, truth):.4f}")
    t.add_row(*acc_row)
    t.add_row(*f1_row)
    return t


def actions_table(test: list[Example], runs: dict[str, list[Recommendation]]) -> Table:
    """Agreement of the actions with the policy's for the TRUE type (on columns whose type
    was right, and overall): a consistency check, SortingHat has no action labels."""
    t = Table(title="actions vs the policy for the true type")
    for col in ("run", "transformation (type right)", "imputation (type right)",
                "triple right (all columns)"):
        t.add_column(col, justify="right")
    for name, recs in runs.items():
        right = [(ex, r) for ex, r in zip(test, recs, strict=True)
                 if r.feature_type == ex.feature_type]
        lab = [labels_for(ex.feature_type, ex.view) for ex, _ in right]
        tr = sum(r.transformation == y["transformation"] for (_, r), y in zip(right, lab,
                                                                              strict=True))
        im = sum(r.imputation == y["imputation"] for (_, r), y in zip(right, lab, strict=True))
        t.add_row(name, f"{tr / max(len(right), 1):.3f}", f"{im / max(len(right), 1):.3f}",
                  f"{min(tr, im) / len(test):.3f}")
    return t


def calibration(recs: list[Recommendation], truth: list[str]) -> tuple[Table, list[tuple]]:
    rows = []
    t = Table(title="calibration of the shipped prior's type confidence (data_test.csv)")
    for col in ("confidence bin", "n", "mean confidence", "accuracy", "gap"):
        t.add_column(col, justify="right")
    ece = 0.0
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        sel = [(r.type_confidence, r.feature_type == y) for r, y in zip(recs, truth, strict=True)
               if lo <= r.type_confidence < hi]
        if not sel:
            continue
        conf = sum(c for c, _ in sel) / len(sel)
        acc = sum(ok for _, ok in sel) / len(sel)
        ece += len(sel) / len(recs) * abs(conf - acc)
        rows.append((lo, min(hi, 1.0), len(sel), conf, acc))
        t.add_row(f"[{lo:.2f}, {min(hi, 1.0):.2f})", str(len(sel)), f"{conf:.3f}",
                  f"{acc:.3f}", f"{acc - conf:+.3f}")
    t.add_section()
    t.add_row("ECE", str(len(recs)), "", "", f"{ece:.3f}")
    return t, rows


def review_table(recs: list[Recommendation], truth: list[str], threshold: float) -> Table:
    t = Table(title="L4 review requests: share of wrong / right answers flagged")
    for col in ("review when", "wrong flagged", "right flagged",
                "columns flagged"):
        t.add_column(col, justify="right")
    wrong = [r for r, y in zip(recs, truth, strict=True) if r.feature_type != y]
    right = [r for r, y in zip(recs, truth, strict=True) if r.feature_type == y]
    for th in sorted({0.5, 0.6, 0.7, 0.75, 0.8, 0.85, threshold}):
        wf = sum(r.confidence < th for r in wrong) / max(len(wrong), 1)
        rf = sum(r.confidence < th for r in right) / max(len(right), 1)
        cf = sum(r.confidence < th for r in recs) / len(recs)
        mark = " (default)" if th == threshold else ""
        t.add_row(f"overall < {th:.2f}{mark}", f"{wf:.1%} of {len(wrong)}",
                  f"{rf:.1%} of {len(right)}", f"{cf:.1%}")
    t.add_section()
    wf = sum(r.needs_review for r in wrong) / max(len(wrong), 1)
    rf = sum(r.needs_review for r in right) / max(len(right), 1)
    cf = sum(r.needs_review for r in recs) / len(recs)
    t.add_row("[bold]needs_review as served[/bold] (overall < default, or model p < "
              "model_review, or >= 99% empty)", f"[bold]{wf:.1%}[/bold] of {len(wrong)}",
              f"[bold]{rf:.1%}[/bold] of {len(right)}", f"{cf:.1%}")
    return t


def plot(rows: list[tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hx) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=(3, 1), sharex=True)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([r[3] for r in rows], [r[4] for r in rows], "o-", label="shipped prior")
    ax.set_ylabel("accuracy in bin")
    ax.set_title("Reliability of type confidence, SortingHat data_test.csv")
    ax.legend(loc="upper left")
    hx.bar([(r[0] + r[1]) / 2 for r in rows], [r[2] for r in rows],
           width=[(r[1] - r[0]) * 0.9 for r in rows])
    hx.set_xlabel("type confidence")
    hx.set_ylabel("columns")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, help="prior file for (b0) instead of building one")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = ap.parse_args()
    console = Console(width=170)
    test = examples(DATA / "data_test.csv")
    truth = [ex.feature_type for ex in test]
    runs: dict[str, list[str]] = {}
    recs_by_run: dict[str, list[Recommendation]] = {}
    notes = []

    recs, note = evaluate(Recommender(ModelBank()), test)
    runs["(a) rules"] = [r.feature_type for r in recs]
    recs_by_run["(a) rules"] = recs
    notes.append(f"(a) {note}")

    t0 = time.perf_counter()
    if args.before is not None:
        before = ModelBank.from_bytes(args.before.read_bytes())
        how = f"from {args.before}"
    else:
        from aurora_stream.training.build import build_prior

        before = build_prior()  # synthetic generator only
        how = "built from the synthetic generator only"
    notes.append(f"(b0) prior {how} in {time.perf_counter() - t0:.0f}s")
    recs, note = evaluate(Recommender(before), test)
    runs["(b0) rules+synthetic prior"] = [r.feature_type for r in recs]
    recs_by_run["(b0) rules+synthetic prior"] = recs
    runs["(b0) L3 only"] = model_only(before, test)
    notes.append(f"(b0) {note}")

    prior = load_prior()
    recs, note = evaluate(Recommender(prior), test)
    runs["(b) rules+shipped prior"] = [r.feature_type for r in recs]
    recs_by_run["(b) rules+shipped prior"] = recs
    runs["(b) L3 only"] = model_only(prior, test)
    notes.append(f"(b) {note}; prior {prior.prior_version()}, "
                 f"{prior.real_examples} real examples")
    shipped = recs

    console.print(table("SortingHat data_test.csv: feature type, precision (P) / recall (R)",
                        truth, runs))
    console.print(f"reference: Random Forest on name + stats + samples = {REFERENCE}")
    for line in notes:
        console.print(line)
    console.print(actions_table(test, recs_by_run))
    cal, rows = calibration(shipped, truth)
    console.print(cal)
    console.print(review_table(shipped, truth, Recommender(prior).review_threshold))
    png = args.out / "reliability.png"
    plot(rows, png)
    console.print(f"reliability diagram: {png}")


if __name__ == "__main__":
    main()
