"""The shared prior as one saved record: its models, tag, counts and the update ids it learned.

Every worker keeps its own copy of the shared prior: the shipped one (package data) plus
every ``PriorUpdate`` of ``aurora.prior-updates``, learned in topic order. Saving that copy
with the ids it has learned lets a restarted worker skip what it already knows and keeps
the embedded mode's prior across broker restarts (the embedded broker keeps nothing).

Codec: ``b"AUP2" | u32 header length | header (orjson) | zstd(pickle(prior Learners))``;
signed by the store like every state blob. Header format 3 adds the central-DP parts
(``privacy/aggregate.py``): ``shared`` (the releases applied, summed), ``pending`` (this
worker's not-yet-released aggregate) and ``unsent`` (releases noised and saved, not yet
read back from the topic: resent with the same id and noise after a restart, never
noised again). Format 2 (no such parts) is still read.
"""

from __future__ import annotations

import pickle
import struct

import orjson
import zstandard

from aurora_stream.learn.state import StateFormatError
from aurora_stream.recommend.models import ModelBank

PRIOR_NAME = "prior"
MAGIC = b"AUP2"
FORMAT = 3
READS = (2, 3)


def prior_to_bytes(bank: ModelBank, applied: list[str], extra: dict | None = None) -> bytes:
    """The saved prior; ``extra``: the central-DP parts (``shared``, ``pending``,
    ``unsent``) as JSON documents."""
    head = orjson.dumps({"format": FORMAT, "tag": bank.prior_tag,
                         "real_examples": bank.real_examples, "applied": applied,
                         **(extra or {})}, option=orjson.OPT_SERIALIZE_NUMPY)
    body = zstandard.ZstdCompressor(level=3).compress(
        pickle.dumps(bank.prior, protocol=pickle.HIGHEST_PROTOCOL))
    return MAGIC + struct.pack(">I", len(head)) + head + body


def prior_from_bytes(data: bytes, bank: ModelBank, extra: dict | None = None
                     ) -> list[str] | None:
    """Put the saved prior into ``bank`` (signature-verified bytes only) and return the ids
    of the updates it has learned (``extra``, if given, receives the central-DP parts);
    ``None`` (bank untouched) when it was saved over another shipped prior
    (``bank.prior_tag``): a new release's prior is not shadowed by an old one."""
    if not data.startswith(MAGIC):
        raise StateFormatError("not a saved prior")
    (n,) = struct.unpack_from(">I", data, len(MAGIC))
    start = len(MAGIC) + 4
    head = orjson.loads(data[start:start + n])
    if head.get("format") not in READS:
        raise StateFormatError(f"unknown prior-state format {head.get('format')!r}")
    if head["tag"] != bank.prior_tag:
        return None
    bank.prior = pickle.loads(zstandard.ZstdDecompressor().decompress(data[start + n:]))
    bank.prior_tag = str(head["tag"])
    bank.real_examples = int(head["real_examples"])
    if extra is not None:
        extra.update({k: head[k] for k in ("shared", "pending", "unsent") if k in head})
    return [str(u) for u in head["applied"]]
