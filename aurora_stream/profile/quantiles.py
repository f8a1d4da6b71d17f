"""Deterministic, mergeable quantiles: an exact histogram of coarsened numbers.

Every number enters already coarsened (``coarsen``: 3 significant digits), and a bucket
*is* a coarsened value, so while a column has at most ``MAX_MAGNITUDES`` distinct
coarsened magnitudes the histogram is exact and its quantiles are exactly those of the
coarsened values (the same answer the former KLL sketch gave in its exact mode).
Beyond that the whole histogram drops to 2, then 1 significant digit, then to powers of
ten (a *uniform* collapse, as in UDDSketch, rather than DDSketch's collapse of the lowest
buckets): the relative error of a reported quantile is then at most 5 %, 50 %, or one
decade. Doubles span ~650 decades, so the power-of-ten level always fits.

Determinism: bucket counts are integers and the level of a merged histogram is the
finest level at which the union of its inputs fits — a function of the multiset of
values alone. Merging is exact addition, so any chunking and any merge order give the
same histogram, byte for byte.

Keys are integers: ``sign * ((exponent + 400) * 10**level + mantissa)``, zero is key 0.
They are monotone in the value, so the histogram sorted by key is sorted by value.
Serialized (orjson-ready lists, no pickle) as ``[level, delta-coded keys, counts]``.

>>> h = Histogram.of(np.array([1.0, 2.0, 3.0, 4.0]))
>>> h.quantiles([0.0, 0.5, 1.0])
[1.0, 2.0, 4.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aurora_stream.profile.coarsen import coarsen_array

MAX_MAGNITUDES = 2048
"""Distinct |key| values kept (so at most 2 * MAX_MAGNITUDES + 1 buckets)."""
LEVELS = (3, 2, 1, 0)  # significant digits; 0 = powers of ten
_LARGEST = float(np.finfo(np.float64).max)
_OFFSET = 400  # exponent offset: 10**-324 .. 10**308 map to positive magnitudes


def _encode(coarse: np.ndarray) -> np.ndarray:
    """Level-3 keys of already coarsened values (int64, monotone in the value)."""
    x = np.asarray(coarse, dtype=np.float64)
    # coarsening the largest doubles may give inf: clip them back to the largest finite
    x = np.clip(np.nan_to_num(x, nan=0.0), -_LARGEST, _LARGEST)
    keys = np.zeros(x.shape, dtype=np.int64)
    nz = x != 0.0
    if not nz.any():
        return keys
    a = np.abs(x[nz])
    a = np.maximum(a, 1e-300)  # subnormals: one bucket below 1e-300 (10**(e-2) stays normal)
    e = np.floor(np.log10(a)).astype(np.int64)
    m = np.rint(a / np.power(10.0, (e - 2).astype(np.float64))).astype(np.int64)
    low, high = m < 100, m >= 1000  # log10 off by one next to a power of ten
    e = np.where(low, e - 1, np.where(high, e + 1, e))
    m = np.where(low | high, np.rint(a / np.power(10.0, (e - 2).astype(np.float64))), m)
    m = np.clip(m.astype(np.int64), 100, 999)
    keys[nz] = np.sign(x[nz]).astype(np.int64) * ((e + _OFFSET) * 1000 + m)
    return keys


def _demote(keys: np.ndarray, level: int) -> np.ndarray:
    """Keys of ``level`` as keys of ``level - 1`` (round the mantissa half up)."""
    sign = np.sign(keys)
    mag = np.abs(keys)
    scale = 10**level
    e, m = mag // scale, mag % scale
    if level == 1:  # to powers of ten: mantissa 1..9 rounds to 1 (e) or 10 (e + 1)
        return sign * (e + (m >= 5))
    q = (m + 5) // 10
    carry = q >= scale // 10
    q = np.where(carry, scale // 100, q)
    return sign * ((e + carry) * (scale // 10) + q)


def _value(key: int, level: int) -> float:
    """The (coarsened) value a key stands for, in its shortest decimal form."""
    if key == 0:
        return 0.0
    mag = abs(key)
    if level == 0:
        out = float(f"1e{mag - _OFFSET}")
    else:
        scale = 10**level
        e, m = mag // scale - _OFFSET, mag % scale
        out = float(f"{m}e{e - level + 1}")
    return math.copysign(out, key)


class Histogram:
    """Counts per coarsened value (see module doc); ``Histogram()`` is the empty one."""

    __slots__ = ("level", "keys", "counts")

    def __init__(self, level: int = LEVELS[0], keys: np.ndarray | None = None,
                 counts: np.ndarray | None = None) -> None:
        self.level = level
        self.keys = np.zeros(0, dtype=np.int64) if keys is None else keys  # sorted, unique
        self.counts = np.zeros(0, dtype=np.int64) if counts is None else counts

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray | None = None) -> Histogram:
        """Histogram of finite numbers (coarsened here; weights are integer counts)."""
        keys = _encode(coarsen_array(values))
        uniq, inverse = np.unique(keys, return_inverse=True)
        w = np.ones(keys.shape, dtype=np.int64) if weights is None else np.asarray(
            weights, dtype=np.int64)
        counts = np.bincount(inverse, weights=w, minlength=uniq.size).astype(np.int64)
        return cls(LEVELS[0], uniq, counts)._fit()

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def is_empty(self) -> bool:
        return self.keys.size == 0

    def _at(self, level: int) -> Histogram:
        keys, counts, lv = self.keys, self.counts, self.level
        while lv > level:
            keys = _demote(keys, lv)
            lv = LEVELS[LEVELS.index(lv) + 1]
        if lv == self.level:
            return self
        uniq, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=counts, minlength=uniq.size).astype(np.int64)
        return Histogram(lv, uniq, summed)

    def _fit(self) -> Histogram:
        out = self
        if out.keys.size <= MAX_MAGNITUDES:  # fewer keys than the limit: fits as is
            return out
        while (out.level != LEVELS[-1]
               and np.unique(np.abs(out.keys[out.keys != 0])).size > MAX_MAGNITUDES):
            out = out._at(LEVELS[LEVELS.index(out.level) + 1])
        return out

    def merge(self, other: Histogram) -> Histogram:
        """Sum of both (new object); the coarser level of the two, then fitted."""
        if other.is_empty():
            return self
        if self.is_empty():
            return other
        level = min(self.level, other.level)
        a, b = self._at(level), other._at(level)
        keys = np.concatenate([a.keys, b.keys])
        uniq, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse, weights=np.concatenate([a.counts, b.counts]),
                             minlength=uniq.size).astype(np.int64)
        return Histogram(level, uniq, counts)._fit()

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Inclusive quantiles: the smallest value whose cumulative count reaches
        ``ceil(q * total)`` (the rule of DataSketches' ``inclusive=True``)."""
        if self.is_empty():
            return [None] * len(qs)
        cum = np.cumsum(self.counts)
        total = int(cum[-1])
        out: list[float | None] = []
        for q in qs:
            rank = math.ceil(float(q) * total)
            i = min(int(np.searchsorted(cum, rank, side="left")), cum.size - 1)
            out.append(_value(int(self.keys[i]), self.level))
        return out

    def to_list(self) -> list:
        keys = self.keys.tolist()
        deltas = [keys[0], *(b - a for a, b in zip(keys, keys[1:], strict=False))] if keys else []
        return [self.level, deltas, self.counts.tolist()]

    @classmethod
    def from_list(cls, data: list) -> Histogram:
        level, deltas, counts = data
        if level not in LEVELS or len(deltas) != len(counts):
            raise ValueError("not a histogram")
        keys = np.cumsum(np.asarray(deltas, dtype=np.int64))
        c = np.asarray(counts, dtype=np.int64)
        if keys.size and (np.any(np.diff(keys) <= 0) or np.any(c <= 0)):
            raise ValueError("histogram keys must increase and counts be positive")
        return cls(int(level), keys, c)
