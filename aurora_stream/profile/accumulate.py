"""Merging the per-chunk sketches of one column of one file, as chunks arrive.

Chunks may arrive out of order or more than once (at-least-once delivery): the
accumulator remembers which sequence numbers it merged (as compact ranges) and ignores
a repeat, so replaying a chunk never double counts. ``last=True`` on the final chunk
tells how many chunks the file has.

Inconsistent input never leaves the accumulator waiting silently, and never completes
with part of the data: the first ``last`` marker seen fixes ``total``; then a chunk with
``seq >= total``, a *different* ``last`` marker, or a ``last`` marker below chunks already
merged makes the accumulator ``failed`` (``error`` says why; ``invalid`` counts the
offending chunks). A failed column is never ``complete``, and ``done`` tells the caller to
stop waiting and dead-letter it, whatever order the chunks came in (so every column of a
file fails alike, instead of some keeping a chunk that others dropped).
"""

from __future__ import annotations

import base64

import orjson

from aurora_stream.profile.sketch import ColumnSketch

_FORMAT = 1


class ColumnAccumulator:
    """Merges the per-chunk sketches of one column of one file; idempotent per chunk seq."""

    __slots__ = ("sketch", "total", "invalid", "error", "_seen")

    def __init__(self) -> None:
        self.sketch = ColumnSketch()  # merged so far
        self.total: int | None = None  # number of chunks, known once the last one arrived
        self.invalid = 0  # chunks refused or with a conflicting last marker (module doc)
        self.error: str | None = None  # set when the file cannot complete any more
        self._seen: list[list[int]] = []  # sorted, disjoint, non-adjacent [lo, hi] seq ranges

    def add(self, seq: int, sketch: ColumnSketch, *, last: bool) -> bool:
        """Merge chunk ``seq``; False when it was not merged (already merged, or beyond
        the last chunk: see the module doc for the rules on inconsistent markers)."""
        if seq < 0:
            raise ValueError(f"chunk seq must be >= 0, got {seq}")
        if self.has(seq):
            return False
        if self.total is not None and seq >= self.total:
            self.invalid += 1
            self.error = self.error or (f"chunk {seq} arrived after the last chunk "
                                        f"({self.total - 1}): the file's chunks disagree")
            return False
        if last and self.total is not None and seq + 1 != self.total:
            self.invalid += 1
            self.error = self.error or (f"two different last chunks ({self.total - 1} and "
                                        f"{seq}): the file's chunks disagree")
            last = False
        self.sketch._absorb(sketch.at_seq(seq), ordered=False)
        self._mark(seq)
        if last:
            self.total = seq + 1
            beyond = sum(hi - max(lo, self.total) + 1 for lo, hi in self._seen
                         if hi >= self.total)
            if beyond:
                self.invalid += beyond
                self.error = (f"last chunk is {seq} but {beyond} chunk(s) after it were "
                              "already merged")
        return True

    @property
    def failed(self) -> bool:
        """The chunks seen are inconsistent: the column can never complete (``error``)."""
        return self.error is not None

    @property
    def done(self) -> bool:
        """Nothing more to wait for: ``complete`` or ``failed``."""
        return self.complete or self.failed

    def has(self, seq: int) -> bool:
        """Whether chunk ``seq`` was merged."""
        return any(lo <= seq <= hi for lo, hi in self._seen)

    @property
    def seen(self) -> int:
        """How many distinct chunks were merged."""
        return sum(hi - lo + 1 for lo, hi in self._seen)

    @property
    def complete(self) -> bool:
        """All chunks 0..total-1 seen (and none beyond), and nothing inconsistent."""
        return (self.error is None and self.total is not None
                and self._seen == [[0, self.total - 1]])

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
            "invalid": self.invalid,
            "error": self.error,
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
            out.invalid = int(doc.get("invalid", 0))
            out.error = doc.get("error")
            out.sketch = ColumnSketch.from_bytes(base64.b64decode(doc["sketch"]))
        except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"not a column accumulator: {exc}") from exc
        return out
