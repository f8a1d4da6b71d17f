"""The learned part of the name-flag vocabulary (``fingerprint.LEARNED_FLAGS``).

Column names are never stored; a name only becomes indicators of tokens from a FIXED
vocabulary. Beyond the hand-written ``NAME_FLAGS`` core, the vocabulary holds the tokens
that occur in column names of at least ``MIN_FILES`` different source files of SortingHat's
public ``data_train.csv`` (Apache-2.0), at most ``MAX_TOKENS`` of them (most files first,
then alphabetical): a token shared by many unrelated public files says something about a
column's type and nothing about one user's data. ``data_test.csv`` is never read.

Regenerate (prints the tuple to paste into ``profile/fingerprint.py``; a test checks the
pasted tuple is what this computes)::

    python -m aurora_stream.training.name_vocab
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

MIN_FILES = 4
MAX_TOKENS = 300
DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sortinghat" / "data_train.csv"


def learned_tokens(path: str | Path = DATA) -> tuple[str, ...]:
    import polars as pl

    from aurora_stream.profile.fingerprint import CORE_FLAGS, name_tokens

    p = Path(path)
    if p.name == "data_test.csv":
        raise ValueError("data_test.csv is held out for measurement; never learn from it")
    df = pl.read_csv(p, infer_schema_length=0, columns=["Record_id", "Attribute_name"])
    files: dict[str, set[str]] = collections.defaultdict(set)
    for rid, name in zip(df["Record_id"], df["Attribute_name"], strict=True):
        for t in name_tokens(name or ""):
            if len(t) >= 2 and t not in CORE_FLAGS:
                files[t].add(rid)
    ranked = sorted((t for t, s in files.items() if len(s) >= MIN_FILES),
                    key=lambda t: (-len(files[t]), t))
    return tuple(sorted(ranked[:MAX_TOKENS]))


def main() -> int:
    toks = learned_tokens()
    print(f"LEARNED_FLAGS: tuple[str, ...] = (  # {len(toks)} tokens, training/name_vocab.py")
    line = "   "
    for t in toks:
        item = f' "{t}",'
        if len(line) + len(item) > 92:
            print(line)
            line = "   "
        line += item
    print(line)
    print(")  # fmt: skip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
