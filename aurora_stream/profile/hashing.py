"""Value hashing for distinct counts and frequent items: strings are only ever seen hashed.

Hashes are polars' 64-bit ``hash`` with a seed. Without configuration the seed is fixed
(plain hashing: a low-entropy column such as a 5-digit zip code can be recovered by
hashing every candidate). Set ``AURORA_SKETCH_KEY`` (a secret shared by every publisher
and worker) to make the hashes keyed. Polars only guarantees hash stability within one
version, so the scheme (polars version + key id) travels with every sketch and sketches
of different schemes refuse to merge.
"""

from __future__ import annotations

import hashlib

import polars as pl

from aurora_stream.config import sketch_key

KEY_ENV = "AURORA_SKETCH_KEY"  # read in config.py
_DEFAULT_SEED = 0x5A17_AB1E_C0FF_EE42


def hash_seed() -> int:
    """The polars hash seed: from ``AURORA_SKETCH_KEY`` when set, else a fixed constant."""
    key = sketch_key()
    if not key:
        return _DEFAULT_SEED
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def hash_scheme(seed: int) -> str:
    """Identifies how values were hashed; equal schemes are required to merge sketches."""
    kid = hashlib.blake2b(seed.to_bytes(8, "little"), digest_size=4).hexdigest()
    return f"polars-{pl.__version__}/{kid}"
