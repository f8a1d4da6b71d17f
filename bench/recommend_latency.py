"""Latency of one recommendation (profile view in, Recommendation out), in microseconds.

Miss: no cache (rules + models + explanation). Hit: InProcessCache, and RedisCache when
``--redis URL`` is given. Views come from synthetic columns (profiling time excluded).
Writes nothing.

    cd /work/main && /work/venv/bin/python bench/recommend_latency.py [--redis redis://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from aurora_stream.profile.fingerprint import fingerprint, name_flags  # noqa: E402
from aurora_stream.profile.sketch import profile_values  # noqa: E402
from aurora_stream.recommend.cache import InProcessCache, RedisCache  # noqa: E402
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender  # noqa: E402
from aurora_stream.training.synthetic import generate  # noqa: E402


def timings(rec: Recommender, inputs: list, user: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        for view, flags in inputs:
            t0 = time.perf_counter_ns()
            rec.recommend(view, flags, user)
            out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def show(label: str, us: list[float]) -> None:
    q = statistics.quantiles(us, n=100)
    print(f"{label:34s} n={len(us):5d}  p50={q[49]:8.0f} us  p95={q[94]:8.0f} us")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--columns", type=int, default=300)
    ap.add_argument("--redis", default=None, help="redis URL for the RedisCache hit path")
    args = ap.parse_args()
    inputs = [(profile_values(c.values), name_flags(c.name)) for c in generate(args.columns, 99)]
    bank = load_prior()
    user_bank = bank.copy()
    for view, flags in inputs[:20]:  # a user with corrections: prior + user model blended
        user_bank.learn_one(fingerprint(view, flags), {"feature_type": "categorical"}, "ann")

    show("miss, prior only", timings(Recommender(bank), inputs, "bob", 3))
    show("miss, prior + user model", timings(Recommender(user_bank), inputs, "ann", 3))
    cached = Recommender(bank, cache=InProcessCache())
    timings(cached, inputs, "bob", 1)
    show("hit, InProcessCache", timings(cached, inputs, "bob", 3))
    if args.redis:
        rc = RedisCache(args.redis, prefix="bench:latency")
        rcached = Recommender(bank, cache=rc)
        show("miss + put, RedisCache", timings(rcached, inputs, "bob", 1))
        show("hit, RedisCache", timings(rcached, inputs, "bob", 3))
        rc.invalidate_user("bob")


if __name__ == "__main__":
    main()
