"""How fast AURORA learns from one user's corrections, and how fast it adapts to them.

1. Learning curve: data_train.csv replayed as one user's corrections (labels from the
   SortingHat type plus the policy's actions), in random order (3 seeds), through the real
   ``Learner`` (user models, L1 rules, L5 duel, DP sharing at the defaults); type accuracy
   on data_test.csv (never learned from) after 0, 10, 30, 100, 300, 1000, 3000 and all.
2. Adaptation: a user whose conventions differ from the prior (integer-coded numeric
   columns with <= 20 distinct values are categorical to them; free text is dropped:
   sentence -> not-generalizable/drop). They work through their train columns of those
   kinds, accept what is right and correct what is wrong; after each correction we check
   the held-out test columns of those kinds. Reported: corrections until 90% come out as
   they want (goal < 20), and the accuracy on their other test columns (collateral).
3. Throughput: corrections per second applied by ``Learner.apply`` (plain Python).

Writes a PNG plot to --out (default: a new temporary directory), nothing into the repo.

    cd /work/main && /work/venv/bin/python bench/learning.py [--out DIR] [--seeds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from aurora_stream.learn.learner import Correction, Learner, Triple  # noqa: E402
from aurora_stream.privacy.dp import PrivacyGuard  # noqa: E402
from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key  # noqa: E402
from aurora_stream.recommend.models import ModelBank  # noqa: E402
from aurora_stream.recommend.policy import labels_for  # noqa: E402
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender  # noqa: E402
from aurora_stream.training.sortinghat import Example, examples  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sortinghat"
CHECKPOINTS = (0, 10, 30, 100, 300, 1000, 3000)
USER = "bench-user"


def event(i: int, ex: Example, rec, want: dict[str, str], accepted: bool) -> Correction:
    fp = fingerprint(ex.view, ex.flags)
    return Correction(
        f"e{i}", USER, f"r{i}", fp, fingerprint_key(fp), rec.provenance,
        Triple(rec.feature_type, rec.transformation, rec.imputation), rec.layer,
        rec.provenance, accepted=accepted,
        corrected_feature_type=None if accepted else want["feature_type"],
        corrected_transformation=None if accepted else want.get("transformation"),
        corrected_imputation=None if accepted else want.get("imputation"))


def setup(prior: ModelBank, seed: int) -> tuple[Learner, Recommender]:
    bank = prior.copy()
    learner = Learner(bank, privacy=PrivacyGuard(seed=seed))
    return learner, Recommender(bank, learned_rules=learner.rules)


def accuracy(rec: Recommender, test: list[Example]) -> float:
    return sum(rec.recommend(e.view, e.flags, USER).feature_type == e.feature_type
               for e in test) / len(test)


def learning_curve(prior: ModelBank, train: list[Example], test: list[Example],
                   seed: int) -> tuple[dict[int, float], float, int, list[str]]:
    """Accuracy at each checkpoint, seconds spent in ``Learner.apply``, events, switches."""
    learner, rec = setup(prior, seed)
    order = list(train)
    random.Random(seed).shuffle(order)
    marks = [c for c in CHECKPOINTS if c < len(order)] + [len(order)]
    curve, spent, switches = {}, 0.0, []
    for i, ex in enumerate(order):
        if i in marks:
            curve[i] = accuracy(rec, test)
        r = rec.recommend(ex.view, ex.flags, USER)
        e = event(i, ex, r, labels_for(ex.feature_type, ex.view), accepted=False)
        t0 = time.perf_counter()
        out = learner.apply(e)
        spent += time.perf_counter() - t0
        if out.switch is not None:
            switches.append(f"{out.switch.kind}@{i + 1}")
    curve[len(order)] = accuracy(rec, test)
    return curve, spent, len(order), switches


def wanted(ex: Example) -> dict[str, str] | None:
    """The adapting user's convention where it differs from the benchmark, else None."""
    v = ex.view
    if ex.feature_type == "sentence":
        return {"feature_type": "not-generalizable", "transformation": "drop",
                "imputation": "none"}
    if (ex.feature_type == "numeric" and (v.int_frac or 0) >= 0.99
            and (v.distinct_count or 1e9) <= 20):
        return labels_for("categorical", v)
    return None


def as_wanted(rec: Recommender, ex: Example, want: dict[str, str]) -> bool:
    r = rec.recommend(ex.view, ex.flags, USER)
    return r.feature_type == want["feature_type"] and (
        want["feature_type"] != "not-generalizable" or r.transformation == "drop")


def adaptation(prior: ModelBank, train: list[Example], test: list[Example], seed: int,
               limit: int = 60) -> dict:
    learner, rec = setup(prior, seed)
    own = [(e, w) for e in train if (w := wanted(e))]
    held = [(e, w) for e in test if (w := wanted(e))]
    others = [e for e in test if wanted(e) is None]
    random.Random(seed).shuffle(own)
    share = sum(as_wanted(rec, e, w) for e, w in held) / len(held)
    start, other_before = share, accuracy(rec, others)
    corrections, reached, accepted = 0, None, 0
    for i, (ex, want) in enumerate(own):
        r = rec.recommend(ex.view, ex.flags, USER)
        ok = r.feature_type == want["feature_type"] and (
            want["feature_type"] != "not-generalizable" or r.transformation == "drop")
        learner.apply(event(i, ex, r, want, accepted=ok))
        if ok:
            accepted += 1
            continue
        corrections += 1
        share = sum(as_wanted(rec, e, w) for e, w in held) / len(held)
        if share >= 0.9 and reached is None:
            reached = corrections
            break
        if corrections >= limit:
            break
    return {"start": start, "end": share, "reached": reached, "corrections": corrections,
            "accepted": accepted, "held": len(held), "other_before": other_before,
            "other_after": accuracy(rec, others), "rules": len(learner.rules.rules_for(USER))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="directory for the PNG plot")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="aurora-learning-"))
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    train, test = examples(DATA / "data_train.csv"), examples(DATA / "data_test.csv")
    prior = load_prior()
    seeds = list(range(args.seeds))

    curves, rates, notes = [], [], []
    for s in seeds:
        curve, spent, n, switches = learning_curve(prior, train, test, s)
        curves.append(curve)
        rates.append(n / spent)
        notes.append(f"seed {s}: L5 switches {switches or 'none'}")
    t = Table(title=f"Type accuracy on data_test.csv ({len(test)} columns) after N corrections "
                    f"from data_train.csv ({len(train)}), one user")
    t.add_column("corrections", justify="right")
    for s in seeds:
        t.add_column(f"seed {s}", justify="right")
    t.add_column("mean", justify="right")
    for n in curves[0]:
        accs = [c[n] for c in curves]
        t.add_row(str(n), *(f"{a:.4f}" for a in accs), f"[bold]{statistics.mean(accs):.4f}")
    console.print(t)
    for note in notes:
        console.print(note)
    console.print(f"Learner.apply throughput: {statistics.mean(rates):,.0f} corrections/s "
                  f"(min {min(rates):,.0f}; user models + L5 duel + rules + DP, no I/O)")

    a = Table(title="Adaptation: ints with <= 20 values are categorical, free text is dropped")
    for col in ("seed", "held-out columns", "as wanted at start", "corrections to 90%",
                "as wanted at end", "accepted on the way", "other columns before -> after",
                "rules"):
        a.add_column(col, justify="right")
    for s in seeds:
        r = adaptation(prior, train, test, s)
        a.add_row(str(s), str(r["held"]), f"{r['start']:.2%}",
                  str(r["reached"]) if r["reached"] else f"> {r['corrections']}",
                  f"{r['end']:.2%}", str(r["accepted"]),
                  f"{r['other_before']:.4f} -> {r['other_after']:.4f}", str(r["rules"]))
    console.print(a)

    xs = list(curves[0])
    fig, ax = plt.subplots(figsize=(7, 4))
    for s, c in zip(seeds, curves, strict=True):
        ax.plot([max(x, 1) for x in xs], [c[x] for x in xs], marker="o", alpha=0.6,
                label=f"seed {s}")
    ax.set_xscale("log")
    ax.set_xlabel("corrections learned (log; 0 plotted at 1)")
    ax.set_ylabel("type accuracy on data_test.csv")
    ax.set_title("AURORA: learning from one user's corrections")
    ax.grid(alpha=0.3)
    ax.legend()
    png = out / "learning_curve.png"
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    console.print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
