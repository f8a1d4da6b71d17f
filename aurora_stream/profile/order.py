"""Monotonicity of a column that arrives in chunks, merged in any order.

Each chunk contributes a ``Segment``: its (coarsened) first and last numeric value and
whether its numeric values never decrease / never increase. Segments are keyed by the
chunk sequence number once the chunk is *placed* (``Order.at(seq)``); adjacent segments
collapse into one, so a file whose chunks arrive in order keeps a single segment.
An unplaced sketch (``update`` on a writer) keeps one loose segment; sequential updates
of the same writer extend it in order. Merging two loose segments loses the order
(``ordered=False``) and the view then reports monotonicity as unknown.

Values are coarsened (see ``coarsen``) before any comparison, inside a chunk as across
chunks, so the answer does not depend on where the chunk boundaries fall; a reversal
smaller than the coarsening step is not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True, slots=True)
class Segment:
    lo: int = -1  # first chunk seq covered (-1: loose, not placed)
    hi: int = -1  # last chunk seq covered
    n: int = 0  # numeric values seen
    first: float = 0.0  # coarsened first numeric value (meaningless when n == 0)
    last: float = 0.0
    inc: bool = True  # never decreases
    dec: bool = True  # never increases
    ordered: bool = True  # False once two segments were merged without knowing their order

    @classmethod
    def of(cls, coarse: np.ndarray) -> Segment:
        """The segment of one chunk's coarsened numeric values, in row order."""
        if coarse.size == 0:
            return cls()
        diffs = np.diff(coarse)
        return cls(
            n=int(coarse.size),
            first=float(coarse[0]),
            last=float(coarse[-1]),
            inc=bool((diffs >= 0).all()),
            dec=bool((diffs <= 0).all()),
        )

    def then(self, nxt: Segment) -> Segment:
        """This segment followed by ``nxt`` (known order)."""
        lo = self.lo if self.lo >= 0 else nxt.lo
        hi = nxt.hi if nxt.hi >= 0 else self.hi
        if nxt.n == 0:
            return replace(self, lo=lo, hi=hi, ordered=self.ordered and nxt.ordered)
        if self.n == 0:
            return replace(nxt, lo=lo, hi=hi, ordered=self.ordered and nxt.ordered)
        return Segment(
            lo,
            hi,
            self.n + nxt.n,
            self.first,
            nxt.last,
            self.inc and nxt.inc and self.last <= nxt.first,
            self.dec and nxt.dec and self.last >= nxt.first,
            self.ordered and nxt.ordered,
        )

    def beside(self, other: Segment) -> Segment:
        """Both segments, order unknown (commutative): monotonicity becomes unknown."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        return Segment(
            min(self.lo, other.lo),
            max(self.hi, other.hi),
            self.n + other.n,
            min(self.first, other.first),
            max(self.last, other.last),
            False,
            False,
            False,
        )

    def to_list(self) -> list[float | int | bool]:
        return [self.lo, self.hi, self.n, self.first, self.last, self.inc, self.dec, self.ordered]

    @classmethod
    def from_list(cls, data: list) -> Segment:
        lo, hi, n, first, last, inc, dec, ordered = data
        return cls(int(lo), int(hi), int(n), float(first), float(last), bool(inc), bool(dec),
                   bool(ordered))


@dataclass(frozen=True, slots=True)
class Order:
    """Loose segment plus placed segments sorted by seq (non-overlapping, non-adjacent)."""

    loose: Segment = Segment()
    placed: tuple[Segment, ...] = ()

    def then(self, nxt: Segment) -> Order:
        """Extend the loose segment with the next chunk of the same writer."""
        return replace(self, loose=self.loose.then(nxt))

    def at(self, seq: int) -> Order:
        """Place the loose segment at chunk ``seq``."""
        seg = replace(self.loose, lo=seq, hi=seq)
        return Order(Segment(), _collapse((*self.placed, seg)))

    def merge(self, other: Order) -> Order:
        return Order(self.loose.beside(other.loose), _collapse(self.placed + other.placed))

    def is_monotonic(self) -> float | None:
        """1.0 / 0.0 over the numeric values seen, None when unknown or fewer than two."""
        whole = Segment()
        for seg in self.placed:
            whole = whole.then(seg)
        if self.loose.n and whole.n:
            return None  # placed and unplaced values: their relative order is unknown
        whole = whole.then(self.loose)
        if whole.n < 2 or not whole.ordered:
            return None
        return 1.0 if (whole.inc or whole.dec) else 0.0

    def to_list(self) -> list:
        return [self.loose.to_list(), [s.to_list() for s in self.placed]]

    @classmethod
    def from_list(cls, data: list) -> Order:
        loose, placed = data
        return cls(Segment.from_list(loose), tuple(Segment.from_list(s) for s in placed))


def _collapse(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """Sort by seq, join adjacent runs; overlapping ones (a chunk merged twice) lose order."""
    out: list[Segment] = []
    for seg in sorted(segments, key=lambda s: (s.lo, s.hi, s.n, s.first, s.last)):
        if out and seg.lo == out[-1].hi + 1:
            out[-1] = out[-1].then(seg)
        elif out and seg.lo <= out[-1].hi:
            merged = out[-1].beside(seg)
            out[-1] = replace(merged, lo=out[-1].lo, hi=max(out[-1].hi, seg.hi), ordered=False)
        else:
            out.append(seg)
    return tuple(out)
