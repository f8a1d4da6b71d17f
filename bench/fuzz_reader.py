"""Fuzz sniff + read_table + parse_chunk with hypothesis: arbitrary bytes and messy CSVs.

A crash is any exception other than ``SourceError`` (the documented error for sources
that cannot be opened or decompressed), or a broken invariant (rows_in == parsed +
rejected, last flag, frame width). Crashes are counted, not shrunk, so one run reports
how many inputs failed. Run: ``/work/venv/bin/python bench/fuzz_reader.py [--examples N]``
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from aurora_stream.ingest.chunker import read_table  # noqa: E402
from aurora_stream.ingest.dialect import sniff  # noqa: E402
from aurora_stream.ingest.parse import parse_chunk  # noqa: E402
from aurora_stream.ingest.source import SourceError  # noqa: E402

STATS = {"inputs": 0, "documented_errors": 0, "crashes": 0}
CRASHES: list[str] = []


def run_one(data: bytes, chunk_bytes: int) -> None:
    """Sniff, read and parse ``data``; raise AssertionError on a broken invariant."""
    dialect = sniff(data)
    header, chunks = read_table(io.BytesIO(data), dialect, chunk_bytes=chunk_bytes)
    seen = []
    for chunk in chunks:
        seen.append(chunk)
        parsed = parse_chunk(chunk.text, dialect, len(header), chunk.first_line)
        assert parsed.rows_in == parsed.frame.height + len(parsed.rejected), "row invariant"
        assert parsed.frame.width == max(1, len(header)), "frame width"
    assert seen and seen[-1].last and not any(c.last for c in seen[:-1]), "last flag"


def _check(data: bytes, chunk_bytes: int) -> None:
    STATS["inputs"] += 1
    try:
        run_one(data, chunk_bytes)
    except SourceError:
        STATS["documented_errors"] += 1
    except Exception:
        STATS["crashes"] += 1
        if len(CRASHES) < 5:
            CRASHES.append(f"input {data[:120]!r}\n{traceback.format_exc(limit=4)}")


PIECES = [b",", b";", b"\t", b"|", b'"', b"'", b"\\", b"\n", b"\r\n", b"\r", b"\x00", b"#",
          b"sep=;\n", b"a", b"1,5", b"2024-01-01", b" ", b"\xff", b"\xc3\xa9", b'""', b"x" * 50,
          "é".encode("cp1252"), "東".encode("shift_jis"), b"\xef\xbb\xbf", b"\xff\xfe"]

messy = st.lists(st.sampled_from(PIECES), max_size=300).map(b"".join)


def _compress(data: bytes, kind: int) -> bytes:
    return data if kind == 0 else gzip.compress(data) if kind == 1 else bz2.compress(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=3000, help="per strategy")
    args = ap.parse_args()
    cfg = settings(max_examples=args.examples, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))

    @cfg
    @given(st.binary(max_size=2000), st.integers(1, 4096))
    def arbitrary(data: bytes, chunk_bytes: int) -> None:
        _check(data, chunk_bytes)

    @cfg
    @given(messy, st.integers(1, 512), st.integers(0, 2))
    def structured(data: bytes, chunk_bytes: int, kind: int) -> None:
        _check(_compress(data, kind), chunk_bytes)

    t0 = time.perf_counter()
    arbitrary()
    structured()
    elapsed = time.perf_counter() - t0
    print(f"inputs tried: {STATS['inputs']}  documented errors (SourceError): "
          f"{STATS['documented_errors']}  crashes: {STATS['crashes']}  ({elapsed:.1f} s)")
    for crash in CRASHES:
        print("---", crash)


if __name__ == "__main__":
    main()
