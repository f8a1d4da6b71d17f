"""One column of one file on its way to a profile: what the profile agent keeps per column.

A ``ColumnProgress`` wraps the ``ColumnAccumulator`` with what at-least-once delivery and
hostile or careless publishers need, so that no chunk is ever dropped silently:

* each merged chunk's digest (of its sketch bytes) is kept, also after the column is done,
  so a *redelivered* chunk (same digest) is ignored, while *another file's* chunk under the
  same dataset id (another digest for a seq, or a seq beyond the end) is refused with a
  reason (``ColumnRefused``: the agent dead-letters it and the publisher sees it);
* the finished profile is kept too: when the last chunk of a finished column arrives
  again (the same file re-published under the same id, or a re-parsed last chunk), the
  profile is sent again, so that publisher gets its answer (same recommendation id);
* ``stale(now, timeout)`` tells the sweep which columns have waited too long for missing
  chunks (``missing()`` names them), to be dead-lettered instead of waiting forever.

State is one JSON document per column (a Faust table value).
"""

from __future__ import annotations

import base64
import hashlib

import orjson

from aurora_stream.profile.accumulate import ColumnAccumulator
from aurora_stream.profile.sketch import ColumnSketch

_LEGACY_DONE = "done"


class ColumnRefused(ValueError):
    """A chunk that cannot belong to this column's file; the message says why."""


def digest(sketch_b64: str) -> str:
    return hashlib.blake2b(sketch_b64.encode(), digest_size=8).hexdigest()


class ColumnProgress:
    """See the module docstring."""

    def __init__(self) -> None:
        self.acc: ColumnAccumulator | None = ColumnAccumulator()
        self.rejected = 0
        self.digests: dict[int, str] = {}
        self.updated = 0.0
        self.done = False
        self.failed: str | None = None
        self.profile: str | None = None  # the finished ColumnProfile event (JSON text)

    # --- one chunk ----------------------------------------------------------------------
    def add(self, seq: int, sketch_b64: str, sketch: ColumnSketch, *, last: bool,
            rows_rejected: int, now: float) -> str:
        """Take one chunk: ``"merged"``, ``"duplicate"``, ``"complete"`` (the profile can be
        built now) or ``"resend"`` (send ``profile`` again); raises ``ColumnRefused``."""
        d = digest(sketch_b64)
        known = self.digests.get(seq)
        if known is not None:
            if known != d:
                raise ColumnRefused(
                    f"chunk {seq} arrived twice with different data: the dataset id is used "
                    "by another file; publish it under a new dataset id")
            if self.done and last and self.profile is not None and not self.failed:
                return "resend"
            return "duplicate"
        if self.done and not self.digests and self.failed is None and self.profile is None:
            return "duplicate"  # finished by 0.1.0, which kept no digests: a redelivery
        if self.done:
            raise ColumnRefused(
                "this column of the dataset was already " + ("refused" if self.failed else
                "completed") + f"; chunk {seq} belongs to another file under the same "
                "dataset id: publish it under a new dataset id")
        assert self.acc is not None
        merged = self.acc.add(seq, sketch, last=last)
        self.updated = now
        if self.acc.failed:
            self._fail(self.acc.error or "inconsistent chunks")
            raise ColumnRefused(self.failed or "")
        if not merged:
            return "duplicate"
        self.digests[seq] = d
        self.rejected += rows_rejected
        return "complete" if self.acc.complete else "merged"

    def finish(self, profile_json: str) -> None:
        """The profile was sent: keep it (and the digests), drop the sketch."""
        self.done, self.profile, self.acc = True, profile_json, None

    def _fail(self, reason: str) -> None:
        self.done, self.failed, self.acc = True, reason, None

    # --- waiting too long -----------------------------------------------------------------
    def stale(self, now: float, timeout: float) -> bool:
        return not self.done and self.updated > 0 and now - self.updated > timeout

    def missing(self) -> str:
        """The chunks still missing, as a short text (``0-3, 7`` or ``after 12``).

        Walks the chunks seen, never every seq up to the end: a publisher's seq is any
        integer the schema allows (a crafted ``last`` chunk at 2**63), and this runs in the
        sweep on the worker's event loop, where a loop over ``range(end)`` stopped every
        agent of the worker for good."""
        seen = sorted(self.digests)
        total = self.acc.total if self.acc is not None else None
        end = total if total is not None else (seen[-1] + 1 if seen else 0)
        gaps: list[str] = []
        expected = 0  # the first seq not yet accounted for
        for s in [*(x for x in seen if x < end), end]:
            if s > expected:
                gaps.append(f"{expected}-{s - 1}" if s - 1 > expected else str(expected))
            expected = s + 1
        tail = [] if total is not None else [f"the last chunk (after {end - 1})"]
        return ", ".join(gaps + tail) or "none"

    def time_out(self, timeout: float) -> str:
        reason = (f"chunks {self.missing()} never arrived within {timeout:.0f}s; the column "
                  "is refused (publish the file again under a new dataset id)")
        self._fail(reason)
        return reason

    # --- bytes ----------------------------------------------------------------------------
    def to_json(self) -> str:
        doc: dict = {"v": 2, "r": self.rejected, "d": {str(k): v for k, v in self.digests.items()},
                     "t": self.updated}
        if self.acc is not None:
            doc["acc"] = base64.b64encode(self.acc.to_bytes()).decode("ascii")
        if self.done:
            doc["done"] = True
            doc["failed"] = self.failed
            doc["profile"] = self.profile
        return orjson.dumps(doc).decode()

    @classmethod
    def from_json(cls, text: str | None) -> ColumnProgress:
        out = cls()
        if not text:
            return out
        if text == _LEGACY_DONE:  # finished by 0.1.0 (no digests kept): redeliveries only
            out.done, out.acc = True, None
            return out
        doc = orjson.loads(text)
        if doc.get("v") != 2:  # 0.1.0 in progress: {"rejected": n, "acc": ...}
            out.rejected = int(doc.get("rejected", 0))
            if "acc" in doc:
                out.acc = ColumnAccumulator.from_bytes(base64.b64decode(doc["acc"]))
            return out
        out.rejected = int(doc["r"])
        out.digests = {int(k): str(v) for k, v in doc["d"].items()}
        out.updated = float(doc["t"])
        out.acc = (ColumnAccumulator.from_bytes(base64.b64decode(doc["acc"]))
                   if "acc" in doc else None)
        out.done = bool(doc.get("done"))
        out.failed = doc.get("failed")
        out.profile = doc.get("profile")
        return out
