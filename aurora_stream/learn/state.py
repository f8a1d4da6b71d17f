"""One user's learned state: one record, one codec, one store key.

``UserState`` holds everything a user taught: her models (the per-user adapters and local
experts of ``ModelBank.users[u]``), her L5 champion/challenger duel, her L1 learned rules
(and pending counts), her privacy-budget days, and the ids of the corrections already
applied (so a redelivered or retried correction changes nothing). It is written as ONE
signed blob under ``user-<sha256(user)[:16]>`` (``store_name``), so the effect of a
correction and its id are committed together: a crash leaves the old or the new state,
never a half.

Codec (``FORMAT`` 2)::

    b"AUU2" | u32 length of the header | header (orjson) | zstd(pickle(models, duel))

The header is JSON: format, user, rules, budget, seen, symbolic. Only the River models are pickled,
and only a store that verified the blob's HMAC hands bytes to ``from_bytes``. Blobs of
release 0.1.0 (a ``{"user": ...}`` line, then five framed parts) are read too
(``from_bytes`` recognises them), so nobody loses learning on upgrade.

>>> s = UserState("ann", seen=["c1"], rules={"next": 0, "rules": [], "pending": []})
>>> UserState.from_bytes(s.to_bytes()) == s
True
>>> store_name("ann")
'user-49915e0d7d4b402e'
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

import orjson
import zstandard

FORMAT = 2
MAGIC = b"AUU2"


class StateFormatError(ValueError):
    """The bytes are not a user state this release can read."""


@dataclass
class UserState:
    """Everything one user taught (see the module docstring)."""

    user_id: str
    models: Any = None  # recommend.models.Learners, or None before the first correction
    duel: Any = None  # learn.champion._Duel, or None
    rules: dict = field(default_factory=dict)  # LearnedRules user document (JSON)
    budget: dict = field(default_factory=dict)  # PrivacyGuard user document (JSON)
    seen: list[str] = field(default_factory=list)  # applied correction ids, oldest first
    symbolic: dict = field(default_factory=dict)  # per L2 rule: [right, wrong] for this user

    def __eq__(self, other: object) -> bool:  # models compare by their bytes
        return isinstance(other, UserState) and self.to_bytes() == other.to_bytes()

    @property
    def empty(self) -> bool:
        return self.models is None and not self.seen and not self.rules.get("rules") \
            and not self.rules.get("pending") and self.duel is None

    def to_bytes(self) -> bytes:
        head = orjson.dumps({"format": FORMAT, "user": self.user_id, "rules": self.rules,
                             "budget": self.budget, "seen": self.seen,
                             "symbolic": self.symbolic})
        body = zstandard.ZstdCompressor(level=3).compress(
            pickle.dumps((self.models, self.duel), protocol=pickle.HIGHEST_PROTOCOL))
        return MAGIC + struct.pack(">I", len(head)) + head + body

    @classmethod
    def from_bytes(cls, data: bytes) -> UserState:
        """Decode signature-verified bytes (format 2, or a 0.1.0 per-user blob)."""
        if data.startswith(MAGIC):
            (n,) = struct.unpack_from(">I", data, len(MAGIC))
            start = len(MAGIC) + 4
            head = orjson.loads(data[start:start + n])
            if head.get("format") != FORMAT:
                raise StateFormatError(f"unknown user-state format {head.get('format')!r}")
            models, duel = pickle.loads(zstandard.ZstdDecompressor().decompress(
                data[start + n:]))
            return cls(str(head["user"]), models, duel, dict(head["rules"]),
                       dict(head["budget"]), [str(c) for c in head["seen"]],
                       dict(head.get("symbolic", {})))
        if data.startswith(b'{"user"'):
            return _from_v1(data)
        raise StateFormatError("not a user state (unknown leading bytes)")


def store_name(user_id: str) -> str:
    """The one store key of a user's state (a hash: the key never shows the user id)."""
    return f"user-{hashlib.sha256(user_id.encode()).hexdigest()[:16]}"


# --- release 0.1.0 ------------------------------------------------------------------------
_V1_PARTS = ("models", "rules", "champion", "privacy", "seen")


def unframe_v1(data: bytes, names: tuple[str, ...] = _V1_PARTS) -> dict[str, bytes]:
    """Split 0.1.0's framed parts (u64 length + bytes each, in ``names`` order)."""
    parts, pos = {}, 0
    for name in names:
        if pos + 8 > len(data):
            raise StateFormatError("0.1.0 state is truncated")
        (n,) = struct.unpack_from(">Q", data, pos)
        parts[name] = data[pos + 8: pos + 8 + n]
        pos += 8 + n
    if pos != len(data):
        raise StateFormatError("0.1.0 state has trailing bytes")
    return parts


def _from_v1(data: bytes) -> UserState:
    head, _, body = data.partition(b"\n")
    user = str(orjson.loads(head)["user"])
    parts = unframe_v1(body)
    rules = orjson.loads(parts["rules"])
    rules.pop("format", None)
    budget = orjson.loads(parts["privacy"])
    budget.pop("format", None)
    return UserState(user, pickle.loads(parts["models"]), pickle.loads(parts["champion"]),
                     rules, budget, [str(c) for c in orjson.loads(parts["seen"])])
