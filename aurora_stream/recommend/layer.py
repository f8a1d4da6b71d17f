"""The one interface every layer of the recommender speaks, on one record per column.

``Column`` is built once per column (fingerprint, its key and region, the user, and the
view and name flags when the column was profiled here); every layer answers on it with
River's shape of interface:

* ``predict_proba_one(c)`` -> ``target -> label -> probability`` (``{}``: no opinion);
* ``explain_one(c)`` -> ``(provenance, reason)``: what decided and why, for a person;
* ``learn_one(c, y)``: one labelled column (``y``: feature_type and, when known,
  transformation and imputation), learned for ``c.user_id`` only.

The layers: ``RuleSet`` (L2 symbolic rules, per-user Beta posteriors of each rule),
``LearnedRules`` (L1, per-user rules induced from corrections) and ``ModelLayer`` (L3,
the prior plus the user's adapter and local expert, over a ``ModelBank``). One contract
test (``tests/recommend/test_layer_contract.py``) runs over all of them.

>>> from aurora_stream.profile.view import ProfileView
>>> c = Column.of(ProfileView(count=100, url_frac=0.97), (), "ann")
>>> c.region.startswith("n-i-d-u2"), len(c.key)
(True, 24)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.models import ModelBank, region_key

Proba = dict[str, dict[str, float]]


class UserStateUnavailable(RuntimeError):
    """One user's stored learned state cannot be read (tampered, another key, store down);
    the message names the store key. Raised by the learn stage, which owns the state;
    declared here so that the recommend stage can degrade on it without importing learn."""


@dataclass(frozen=True)
class Column:
    """One column as every layer sees it (no raw value, no name)."""

    fp: dict[str, float]
    key: str
    region: str
    user_id: str
    view: ProfileView | None = None
    flags: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, view: ProfileView, flags: tuple[str, ...] | list[str], user_id: str) -> Column:
        """A profiled column: the fingerprint and region computed here, once."""
        fp = fingerprint(view, flags)
        return cls(fp, fingerprint_key(fp), region_key(fp), user_id, view, tuple(flags))

    @classmethod
    def from_fingerprint(cls, fp: dict[str, float], user_id: str,
                         key: str | None = None) -> Column:
        """A column known only by its fingerprint (a correction's echo)."""
        return cls(dict(fp), key or fingerprint_key(fp), region_key(fp), user_id)


@runtime_checkable
class Layer(Protocol):
    """What the recommender asks of every layer (see the module docstring)."""

    name: str

    def predict_proba_one(self, c: Column) -> Proba: ...

    def explain_one(self, c: Column) -> tuple[str, str]: ...

    def learn_one(self, c: Column, y: dict[str, str]) -> object: ...


class ModelLayer:
    """L3 as a layer: the ``ModelBank``'s prior blended with the user's own learners."""

    name = "L3-model"

    def __init__(self, bank: ModelBank) -> None:
        self.bank = bank

    def predict_proba_one(self, c: Column) -> Proba:
        return self.bank.predict_proba(c.fp, c.user_id)

    def explain_one(self, c: Column) -> tuple[str, str]:
        p = self.bank.predict_proba(c.fp, c.user_id).get("feature_type", {})
        if not p:
            return self.bank.version(c.user_id), "the model has no opinion yet"
        top = max(p, key=p.__getitem__)
        return self.bank.version(c.user_id), f"model p={p[top]:.2f} for {top}"

    def learn_one(self, c: Column, y: dict[str, str]) -> None:
        self.bank.learn_one(c.fp, y, c.user_id)
