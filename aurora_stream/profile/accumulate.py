"""Merging the per-chunk sketches of one column of one file, as chunks arrive.

Chunks may arrive out of order or more than once (at-least-once delivery): the
accumulator remembers which sequence numbers it merged (as compact ranges) and ignores
a repeat, so replaying a chunk never double counts. ``last=True`` on the final chunk
tells how many chunks the file has.
"""

from __future__ import annotations

import base64

import orjson

from aurora_stream.profile.sketch import ColumnSketch

_FORMAT = 1


class ColumnAccumulator:
    """Merges the per-chunk sketches of one column of one file; idempotent per chunk seq."""

    __slots__ = ("sketch", "total", "_seen")

    def __init__(self) -> None:
        self.sketch = ColumnSketch()  # merged so far
        self.total: int | None = None  # number of chunks, known once the last one arrived
        self._seen: list[list[int]] = []  # sorted, disjoint, non-adjacent [lo, hi] seq ranges

    def add(self, seq: int, sketch: ColumnSketch, *, last: bool) -> bool:
        """Merge chunk ``seq``; False (and nothing changes) when it was already merged."""
        if seq < 0:
            raise ValueError(f"chunk seq must be >= 0, got {seq}")
        if self.has(seq):
            return False
        self.sketch._absorb(sketch.at_seq(seq), ordered=False)
        self._mark(seq)
        if last:
            self.total = seq + 1
        return True

    def has(self, seq: int) -> bool:
        """Whether chunk ``seq`` was merged."""
        return any(lo <= seq <= hi for lo, hi in self._seen)

    @property
    def seen(self) -> int:
        """How many distinct chunks were merged."""
        return sum(hi - lo + 1 for lo, hi in self._seen)

    @property
    def complete(self) -> bool:
        """All chunks 0..total-1 seen (and none beyond)."""
        return self.total is not None and self._seen == [[0, self.total - 1]]

    def _mark(self, seq: int) -> None:
        ranges = sorted([*self._seen, [seq, seq]])
        merged: list[list[int]] = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self._seen = merged

    def to_bytes(self) -> bytes:
        """Bytes for a Faust table value (orjson; the sketch inside as its own bytes)."""
        return orjson.dumps({
            "v": _FORMAT,
            "total": self.total,
            "seen": self._seen,
            "sketch": base64.b64encode(self.sketch.to_bytes()).decode("ascii"),
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> ColumnAccumulator:
        try:
            doc = orjson.loads(data)
            if doc.get("v") != _FORMAT:
                raise ValueError(f"unknown accumulator format {doc.get('v')!r}")
            out = cls()
            out.total = None if doc["total"] is None else int(doc["total"])
            out._seen = [[int(lo), int(hi)] for lo, hi in doc["seen"]]
            out.sketch = ColumnSketch.from_bytes(base64.b64decode(doc["sketch"]))
        except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"not a column accumulator: {exc}") from exc
        return out
