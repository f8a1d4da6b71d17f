"""Missing-value markers: the one list of cells read as missing, decided by the parse stage.

The parse stage turns marker cells into nulls before anything is sketched, so the profile
counts them as missing and never sees (nor keeps) their raw text. Markers are compared
after stripping surrounding whitespace, case-insensitively (``NA``, ``na`` and ``Na`` alike);
the empty marker ``""`` makes whitespace-only cells missing.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

DEFAULT_MISSING: tuple[str, ...] = ("", "NA", "N/A", "NaN", "null", "None", "?", "-", "--",
                                    "#N/A")


def markers(override: Iterable[str] | None = None) -> tuple[str, ...]:
    """Per-file override, else ``AURORA_MISSING_MARKERS`` (config), else ``DEFAULT_MISSING``."""
    if override is not None:
        return tuple(dict.fromkeys(m.strip() for m in override))
    from aurora_stream.config import missing_markers

    return missing_markers() or DEFAULT_MISSING


def _folded(marks: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(m.strip().lower() for m in marks))


def series_to_null(series: pl.Series, marks: Iterable[str]) -> pl.Series:
    """``series`` (Utf8) with every marker cell turned into null."""
    folded = _folded(marks)
    if not folded or series.len() == 0:
        return series
    hit = series.str.strip_chars().str.to_lowercase().is_in(folded)
    if not hit.any():
        return series
    return pl.select(pl.when(hit).then(None).otherwise(series).alias(series.name)).to_series()


def frame_to_null(frame: pl.DataFrame, marks: Iterable[str]) -> pl.DataFrame:
    """Every Utf8 column of ``frame`` through ``series_to_null``."""
    folded = _folded(marks)
    if not folded or frame.width == 0 or frame.height == 0:
        return frame
    col = pl.col(frame.columns)
    hit = col.str.strip_chars().str.to_lowercase().is_in(folded)
    return frame.with_columns(pl.when(hit).then(None).otherwise(col).name.keep())
