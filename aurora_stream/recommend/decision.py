"""What the recommender says about one column: the chosen triple, why, and the alternatives.

A ``Recommendation`` carries no raw value and no column name: only labels from
``aurora_stream.vocab``, confidences, the layer and provenance that decided, and a short
reason citing statistics. It round-trips through plain dicts (JSON events, cache).

>>> opt = Option("url", "extract_domain", "none", 0.95, "97% of values are URLs")
>>> rec = Recommendation("url", "extract_domain", "none", 0.95, 0.95, 0.9, 0.9,
...                      "L2-symbolic-rule", "R-url-01", "97% of values are URLs", (opt,), False)
>>> Recommendation.from_dict(rec.to_dict()) == rec
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

LAYERS: tuple[str, ...] = ("L0-cache", "L1-learned-rule", "L2-symbolic-rule", "L3-model")


@dataclass(frozen=True)
class Option:
    """One candidate triple with its confidence and the reason for it."""

    feature_type: str
    transformation: str
    imputation: str
    confidence: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Option:
        return cls(
            feature_type=str(data["feature_type"]),
            transformation=str(data["transformation"]),
            imputation=str(data["imputation"]),
            confidence=float(data["confidence"]),
            reason=str(data["reason"]),
        )


@dataclass(frozen=True)
class Recommendation:
    """The recommendation for one column (see the module docstring)."""

    feature_type: str
    transformation: str
    imputation: str
    confidence: float
    type_confidence: float
    transformation_confidence: float
    imputation_confidence: float
    layer: str
    provenance: str
    reason: str
    alternatives: tuple[Option, ...]
    needs_review: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alternatives"] = [o.to_dict() for o in self.alternatives]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(
            feature_type=str(data["feature_type"]),
            transformation=str(data["transformation"]),
            imputation=str(data["imputation"]),
            confidence=float(data["confidence"]),
            type_confidence=float(data["type_confidence"]),
            transformation_confidence=float(data["transformation_confidence"]),
            imputation_confidence=float(data["imputation_confidence"]),
            layer=str(data["layer"]),
            provenance=str(data["provenance"]),
            reason=str(data["reason"]),
            alternatives=tuple(Option.from_dict(o) for o in data.get("alternatives", ())),
            needs_review=bool(data["needs_review"]),
        )

    def served_from(self, layer: str) -> Recommendation:
        """The same answer, labelled as served by ``layer`` (e.g. a cache hit)."""
        return replace(self, layer=layer)
