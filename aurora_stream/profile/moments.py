"""Mergeable central moments (count, mean, M2, M3, M4) of a stream of numbers.

Two partial results combine exactly (up to float rounding) with the pairwise update of
Chan, Golub & LeVeque (1979) extended to the third and fourth moments by Pébay (2008) —
the same scheme as River's ``stats.Var`` / ``stats.Kurtosis`` merge with ``+``. This is
numerically stable where naive power sums (Σx, Σx², ...) cancel catastrophically.

Privacy caveat: the moments are aggregates and are kept exact so that merging stays
correct. Over a single numeric value, ``mean`` *is* that value; callers that expose a
view coarsen it, but the serialized sketch holds it exactly.

>>> a = Moments.of([1.0, 2.0]); b = Moments.of([3.0, 4.0, 10.0])
>>> round((a + b).mean, 6), round((a + b).variance, 6)
(4.0, 10.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Moments:
    n: float = 0.0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    m3: float = 0.0
    m4: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        """Moments of a small in-memory sequence (reference implementation for tests)."""
        xs = [float(x) for x in values]
        if not xs:
            return cls()
        n = len(xs)
        mean = math.fsum(xs) / n
        devs = [x - mean for x in xs]
        return cls(
            float(n),
            mean,
            math.fsum(d * d for d in devs),
            math.fsum(d**3 for d in devs),
            math.fsum(d**4 for d in devs),
        )

    def __add__(self, other: Moments) -> Moments:
        """Merge two partial results (Pébay's pairwise formulas)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        na, nb = self.n, other.n
        n = na + nb
        d = other.mean - self.mean
        d_n = d / n
        mean = self.mean + d_n * nb
        m2 = self.m2 + other.m2 + d * d_n * na * nb
        m3 = (
            self.m3
            + other.m3
            + d * d_n * d_n * na * nb * (na - nb)
            + 3.0 * d_n * (na * other.m2 - nb * self.m2)
        )
        m4 = (
            self.m4
            + other.m4
            + d * d_n**3 * na * nb * (na * na - na * nb + nb * nb)
            + 6.0 * d_n * d_n * (na * na * other.m2 + nb * nb * self.m2)
            + 4.0 * d_n * (na * other.m3 - nb * self.m3)
        )
        return Moments(n, mean, m2, m3, m4)

    @property
    def variance(self) -> float:
        """Population variance (0 when the spread is float noise around the mean)."""
        if self.n == 0:
            return 0.0
        var = self.m2 / self.n
        return 0.0 if var <= 1e-12 * max(self.mean * self.mean, 1e-300) else var

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @property
    def skew(self) -> float | None:
        """Population skewness; None when undefined (no spread)."""
        var = self.variance
        if var == 0.0:
            return None
        return (self.m3 / self.n) / var**1.5

    @property
    def kurtosis(self) -> float | None:
        """Population excess kurtosis; None when undefined (no spread)."""
        var = self.variance
        if var == 0.0:
            return None
        return (self.m4 / self.n) / (var * var) - 3.0

    def to_list(self) -> list[float]:
        return [self.n, self.mean, self.m2, self.m3, self.m4]

    @classmethod
    def from_list(cls, data: list[float]) -> Moments:
        return cls(*(float(x) for x in data))
