"""The read-only summary of one column that every later stage consumes.

A ``ProfileView`` is what the recommender sees of a column: statistics only, never a
raw cell value or a column name. Every field is optional (``None`` = unknown), so a
view can also be built from other sources (e.g. a SortingHat row) that lack some
statistics; consumers must tolerate missing fields rather than invent them.

Fractions are over non-null values unless named otherwise. Numeric statistics are over
the values that parse as numbers. The fields are generated from the one table of
statistics, ``profile/fields.py``.
"""

from __future__ import annotations

from dataclasses import asdict, field, fields, make_dataclass
from typing import Any

from aurora_stream.profile.fields import FIELDS


class _ViewMethods:
    def to_dict(self) -> dict[str, float]:
        """The known fields only, as a plain dict (missing fields are left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}  # type: ignore

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileView:
        """Build from a dict, ignoring unknown keys (forward compatible)."""
        return cls(**{k: float(v) for k, v in data.items()  # type: ignore[call-arg]
                      if k in FIELDS and v is not None})


ProfileView = make_dataclass(
    "ProfileView", [(name, float | None, field(default=None)) for name in FIELDS],
    bases=(_ViewMethods,), frozen=True)
ProfileView.__module__ = __name__
ProfileView.__doc__ = "The read-only statistics of one column; every field is optional " \
    "(the fields and their meaning: profile/fields.py)."


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ProfileView))
