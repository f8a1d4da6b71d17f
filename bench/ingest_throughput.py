"""Throughput of sniff + read_table + parse_chunk versus polars.read_csv of the same file.

Run: /work/venv/bin/python bench/ingest_throughput.py [--mb 100]
Writes its generated CSV into a temporary directory, never into the repository.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from aurora_stream.ingest.chunker import read_table  # noqa: E402
from aurora_stream.ingest.dialect import sniff  # noqa: E402
from aurora_stream.ingest.parse import parse_chunk  # noqa: E402


def make_clean_csv(path: Path, target_mb: float, seed: int = 7) -> int:
    """Write a clean ~target_mb CSV (numbers, dates, words, some quoted fields); return its size."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    rows = []
    for i in range(20_000):
        rows.append(
            f"{i},{rng.random() * 1000:.4f},{rng.randint(0, 10**6)},"
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
            f"{rng.choice(words)},\"{rng.choice(words)}, {rng.choice(words)}\","
            f"{rng.choice(['', 'x', 'yes', 'no'])},{rng.gauss(0, 1):.6f}\n"
        )
    block = "".join(rows).encode()
    header = b"id,score,count,day,word,phrase,flag,z\n"
    with open(path, "wb") as fh:
        fh.write(header)
        size = len(header)
        while size < target_mb * 1e6:
            fh.write(block)
            size += len(block)
    return size


def ingest(path: Path, chunk_bytes: int = 1 << 20) -> tuple[int, int]:
    """Sniff, chunk and parse the file; return (rows parsed, rows rejected)."""
    dialect = sniff(path)
    header, chunks = read_table(path, dialect, chunk_bytes=chunk_bytes)
    parsed = rejected = 0
    for chunk in chunks:
        result = parse_chunk(chunk.text, dialect, len(header), chunk.first_line)
        parsed += result.frame.height
        rejected += len(result.rejected)
    return parsed, rejected


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--chunk-mb", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clean.csv"
        size = make_clean_csv(path, args.mb)
        mb = size / 1e6
        t_polars = t_ours = float("inf")
        for _ in range(args.repeat):  # interleaved, best of N: the machine is shared
            t0 = time.perf_counter()
            frame = pl.read_csv(path, infer_schema=False)
            t_polars = min(t_polars, time.perf_counter() - t0)
            t0 = time.perf_counter()
            parsed, rejected = ingest(path, int(args.chunk_mb * (1 << 20)))
            t_ours = min(t_ours, time.perf_counter() - t0)
        assert parsed == frame.height and rejected == 0, (parsed, frame.height, rejected)
        print(f"best of {args.repeat}; file: {mb:.1f} MB, "
              f"{frame.height:,} rows x {frame.width} columns")
        print(f"polars.read_csv (all Utf8):       {t_polars:6.2f} s  {mb / t_polars:7.1f} MB/s")
        print(f"sniff+read_table+parse_chunk:     {t_ours:6.2f} s  {mb / t_ours:7.1f} MB/s")
        print(f"ratio (ours / polars speed):      {t_polars / t_ours:6.2f}")


if __name__ == "__main__":
    main()
