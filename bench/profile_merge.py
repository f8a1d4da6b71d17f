"""Benchmark of the profile stage: sketch update per 1 MiB chunk, merge cost and size.

Run: ``cd /work/main && /work/venv/bin/python bench/profile_merge.py``

The headline is ``sketch_frame`` throughput (MiB/s of polars string data) on a mixed
8-column 1 MiB chunk: an id, an amount, a small count, a date, a timestamp, a short
category, a status word and free text. Target: >= 40 MiB/s per worker.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from aurora_stream.profile.accumulate import ColumnAccumulator  # noqa: E402
from aurora_stream.profile.sketch import ColumnSketch, sketch_frame  # noqa: E402

MIB = 1 << 20
WORDS = ("the quick brown fox jumps over a lazy dog while it rains in the city of "
         "london and paris").split()


def _timeit(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _column(kind: str, n: int, distinct: int, rng: random.Random) -> list[str | None]:
    def one(i: int) -> str | None:
        k = rng.randrange(distinct)
        if i % 50 == 0:
            return None
        if kind == "int":
            return str(k)
        if kind == "float":
            return f"{k * 1.37:.2f}"
        if kind == "date":
            return f"20{k % 30:02d}-{1 + k % 12:02d}-{1 + k % 28:02d}"
        if kind == "category":
            return f"cat_{k}"
        if kind == "id":
            return str(100_000 + i)
        if kind == "count":
            return str(k % 40)
        if kind == "timestamp":
            return (f"20{k % 30:02d}-{1 + k % 12:02d}-{1 + k % 28:02d} "
                    f"{k % 24:02d}:{k % 60:02d}:{(k * 7) % 60:02d}")
        if kind == "status":
            return ("active", "inactive", "pending", "closed", "n/a")[k % 5]
        return " ".join(WORDS[(k + j) % len(WORDS)] for j in range(8)) + f" {k}"

    return [one(i) for i in range(n)]


def _rows_per_mib(kinds: list[str]) -> int:
    sample = pl.DataFrame({k: _column(k, 2000, 100_000, random.Random(0)) for k in kinds})
    return int(2000 * MIB / sample.estimated_size())


MIXED = ["id", "float", "count", "date", "timestamp", "category", "status", "sentence"]
SCENARIOS = {  # distinct values each column draws from
    "low-cardinality (<=100 per column)": dict.fromkeys(MIXED, 100),
    "typical": {"id": 1, "float": 100_000, "count": 40, "date": 3_650, "timestamp": 100_000,
                "category": 50, "status": 5, "sentence": 100_000},
    "high-cardinality (<=100,000 per column)": dict.fromkeys(MIXED, 100_000),
}


def bench_update(console: Console) -> None:
    kinds = MIXED
    rows = _rows_per_mib(kinds)
    table = Table(title=f"update: sketch_frame of one mixed 1 MiB chunk ({rows:,} rows x "
                        f"{len(kinds)} columns: {', '.join(kinds)})")
    for col in ("chunk", "ms / chunk", "µs / column", "µs / column (1-column frame)",
                "MiB/s"):
        table.add_column(col, justify="right")
    for name, distinct in SCENARIOS.items():
        rng = random.Random(len(name))
        frame = pl.DataFrame({k: _column(k, rows, distinct[k], rng) for k in kinds},
                             schema=dict.fromkeys(kinds, pl.Utf8))
        whole = _timeit(lambda f=frame: sketch_frame(f), repeat=9)
        single = statistics.mean(
            _timeit(lambda f=frame, k=k: sketch_frame(f.select(k)), repeat=3) for k in kinds
        )
        mib = frame.estimated_size() / MIB
        table.add_row(name, f"{whole * 1e3:,.1f}", f"{whole / len(kinds) * 1e6:,.0f}",
                      f"{single * 1e6:,.0f}", f"{mib / whole:,.1f}")
    console.print(table)


def bench_merge(console: Console) -> None:
    table = Table(title="merge: per chunk per column (10,000-row chunks, 'category' column)")
    for col in ("distinct", "merge µs", "accumulator add µs", "to_bytes µs", "from_bytes µs",
                "sketch bytes", "accumulator bytes (20 chunks)"):
        table.add_column(col, justify="right")
    for distinct in (100, 100_000):
        rng = random.Random(distinct)
        chunks = [
            sketch_frame(pl.DataFrame({"v": _column("category", 10_000, distinct, rng)}))[0]
            for _ in range(20)
        ]
        a, b = chunks[0].merge(chunks[1]), chunks[2]
        merge_s = _timeit(lambda a=a, b=b: a.merge(b), repeat=50)

        def accumulate(chunks=chunks) -> ColumnAccumulator:
            acc = ColumnAccumulator()
            for seq in reversed(range(len(chunks))):
                acc.add(seq, chunks[seq], last=seq == len(chunks) - 1)
            return acc

        add_s = _timeit(accumulate, repeat=5) / len(chunks)
        acc = accumulate()
        blob = acc.sketch.to_bytes()
        to_s = _timeit(acc.sketch.to_bytes, repeat=50)
        from_s = _timeit(lambda blob=blob: ColumnSketch.from_bytes(blob), repeat=50)
        table.add_row(f"{distinct:,}", f"{merge_s * 1e6:,.0f}", f"{add_s * 1e6:,.0f}",
                      f"{to_s * 1e6:,.0f}", f"{from_s * 1e6:,.0f}", f"{len(blob):,}",
                      f"{len(acc.to_bytes()):,}")
    console.print(table)


def main() -> None:
    console = Console()
    bench_update(console)
    bench_merge(console)


if __name__ == "__main__":
    main()
