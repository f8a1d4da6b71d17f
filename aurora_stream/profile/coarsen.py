"""Coarsening of numbers to a few significant digits, so no exact raw value is stored.

``coarsen(73519.8642) == 73500.0``: what enters min/max, quantile sketches and the
monotonicity boundaries of a column sketch is always coarsened first. Coarsening is
monotone (``a <= b`` implies ``coarsen(a) <= coarsen(b)``), so order statistics and
monotonicity computed on coarsened values are consistent however a column is chunked.
"""

from __future__ import annotations

import math

import numpy as np

SIGNIFICANT_DIGITS = 3


def coarsen_array(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round every finite value to ``digits`` significant digits (vectorized)."""
    x = np.asarray(values, dtype=np.float64)
    out = np.zeros_like(x)
    nz = x != 0.0
    if nz.any():
        v = x[nz]
        exponent = np.floor(np.log10(np.abs(v))) - (digits - 1)
        exponent = np.maximum(exponent, -320.0)  # subnormals: 10**exponent must not be 0
        scale = np.power(10.0, exponent)
        out[nz] = np.round(v / scale) * scale
    return out


def coarsen(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Round one value to ``digits`` significant digits (same rule as ``coarsen_array``)."""
    if value == 0.0 or not math.isfinite(value):
        return 0.0 if value == 0.0 else value
    rounded = float(coarsen_array(np.array([value]), digits)[0])
    # same value in its shortest decimal form (0.471, not 0.47100000000000003)
    return float(f"{rounded:.{digits}g}")
