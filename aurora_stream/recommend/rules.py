"""L2 symbolic rules: deterministic, explainable decisions over a profile and name flags.

Every rule has an id, a condition over the ``ProfileView`` (and the column's name flags,
never the name), the feature type it recommends (transformation and imputation come from
``policy`` unless the rule fixes them), a base confidence, and a reason template filled
with the statistics that decided (``{url_frac:.0%}`` etc.). Base confidences are each
rule's precision on SortingHat's data_train.csv (rounded; never the test file). All rules
live in ``RULES``; to add one, append a ``Rule`` there (ids ``R-<topic>-<nn>``, unique).

``RuleSet`` is a layer like the others (``layer.Layer``: ``predict_proba_one``,
``explain_one``, ``learn_one`` on a ``Column``). Each rule's confidence *for a user* is a
Beta posterior around its base confidence (``prior_strength`` pseudo-observations):
the learner records, for every accepted or corrected recommendation that a rule decided,
whether the rule's type was right (``record_outcome``), and ``learn_one`` counts every
rule that fires on a labelled column. The counts are part of the user's ``UserState``
(``user_doc``), so a rule that keeps failing one user loses its confidence for her only.

>>> from aurora_stream.profile.view import ProfileView
>>> rules = RuleSet()
>>> hit = rules.best(ProfileView(count=100, null_frac=0.0, url_frac=0.97), ())
>>> hit.rule_id, hit.feature_type, hit.transformation
('R-url-01', 'url', 'extract_domain')
>>> hit.reason
'97% of values are URLs'
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aurora_stream.profile.view import FIELD_NAMES, ProfileView
from aurora_stream.recommend.policy import choose_imputation, choose_transformation

if TYPE_CHECKING:
    from aurora_stream.recommend.layer import Column

Condition = Callable[[ProfileView, frozenset[str]], bool]
FLAG_PREFIX = "flag:"


def _g(x: float | None, default: float = 0.0) -> float:
    return default if x is None else x


@dataclass(frozen=True)
class RuleHit:
    """A fired rule's full recommendation."""

    rule_id: str
    feature_type: str
    transformation: str
    imputation: str
    confidence: float
    transformation_confidence: float
    imputation_confidence: float
    reason: str


class _Missing:
    """Formats as '?' whatever the format spec (a field the view does not know)."""

    def __format__(self, spec: str) -> str:
        return "?"


@dataclass(frozen=True)
class Rule:
    """One symbolic rule (see the module docstring)."""

    id: str
    feature_type: str
    confidence: float
    when: Condition
    reason: str
    transformation: str | None = None
    imputation: str | None = None

    def fires(self, view: ProfileView, flags: Iterable[str]) -> bool:
        return bool(self.when(view, frozenset(flags)))

    def explain(self, view: ProfileView) -> str:
        known = view.to_dict()
        values = {n: known.get(n, _Missing()) for n in FIELD_NAMES}
        # derived numbers templates may cite
        values["non_null"] = _g(view.count) * (1 - _g(view.null_frac))
        return string.Formatter().vformat(self.reason, (), values)

    def apply(self, view: ProfileView, flags: Iterable[str], confidence: float) -> RuleHit:
        """The rule's triple for this view (policy fills what the rule leaves open)."""
        t, tc, _ = choose_transformation(self.feature_type, view)
        i, ic, _ = choose_imputation(self.feature_type, view)
        if self.transformation is not None:
            t, tc = self.transformation, 0.9
        if self.imputation is not None:
            i, ic = self.imputation, 0.9
        return RuleHit(self.id, self.feature_type, t, i, confidence, tc, ic, self.explain(view))

    def predict_proba_one(self, x: dict[str, float]) -> dict[str, float]:
        view, flags = split_input(x)
        return {self.feature_type: self.confidence} if self.fires(view, flags) else {}


def rule_input(view: ProfileView, flags: Iterable[str]) -> dict[str, float]:
    """The plain-dict ``x`` rules (and River) consume: view fields + ``flag:<f>`` = 1."""
    x = view.to_dict()
    x.update({FLAG_PREFIX + f: 1.0 for f in flags})
    return x


def split_input(x: dict[str, float]) -> tuple[ProfileView, frozenset[str]]:
    flags = frozenset(k[len(FLAG_PREFIX) :] for k in x if k.startswith(FLAG_PREFIX))
    return ProfileView.from_dict(x), flags


# --- conditions -------------------------------------------------------------------------

_ID_FLAGS = frozenset({"id", "key", "uuid", "hash", "identifier"})
_DATE_FLAGS = frozenset({"date", "time", "datetime", "timestamp", "year", "month", "day"})


def _non_null(v: ProfileView) -> float:
    return _g(v.count) * (1 - _g(v.null_frac))


def _near_empty(v: ProfileView, f: frozenset[str]) -> bool:
    return v.null_frac is not None and v.null_frac >= 0.98


def _constant(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.is_constant) == 1.0 or (v.distinct_count is not None and v.distinct_count <= 1)


def _is_numeric(v: ProfileView) -> bool:
    return _g(v.numeric_frac) >= 0.98 and _g(v.date_frac) < 0.5


def _unique(v: ProfileView) -> bool:
    return _g(v.is_unique) == 1.0 or _g(v.distinct_frac) >= 0.999


def _id_named_unique(v: ProfileView, f: frozenset[str]) -> bool:
    return bool(f & _ID_FLAGS) and _unique(v) and _non_null(v) >= 20 and _g(v.float_frac) < 0.1


def _serial_int(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        _unique(v)
        and _g(v.int_frac) >= 0.99
        and _g(v.is_monotonic) == 1.0
        and _non_null(v) >= 20
    )


def _hash_like(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        _unique(v)
        and _non_null(v) >= 20
        and _g(v.numeric_frac) < 0.5
        and _g(v.word_mean, 1) <= 1.0
        and _g(v.len_std, 1) <= 0.5
        and _g(v.len_mean) >= 8
    )


def _date_like(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.date_frac) >= 0.8 or _g(v.time_frac) >= 0.8


def _year_like(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        bool(f & _DATE_FLAGS)
        and _g(v.int_frac) >= 0.99
        and v.min is not None
        and v.max is not None
        and 1800 <= v.min <= v.max <= 2100
    )


def _sentence(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        _g(v.word_mean) >= 5
        and _g(v.distinct_frac) >= 0.3
        and _g(v.url_frac) < 0.5
        and _g(v.list_frac) < 0.5
    )


def _pairs(v: ProfileView) -> bool:
    """Every value holds exactly one separator (``Last, First``, ``County, ST``,
    ``Acme, LLC``, ``A/B``): a pair of names, not a list, whose item count varies."""
    return (v.delim_mean is not None and 0.8 <= v.delim_mean <= 1.2
            and _g(v.delim_std, 1.0) <= 0.3 and _g(v.word_mean) <= 4)


def _list_like(v: ProfileView, f: frozenset[str]) -> bool:
    # lists of numbers hold single items too ("3" next to "1, 5, 8"): those parse as numbers
    items = _g(v.list_frac) >= 0.8 or (_g(v.list_frac) >= 0.4
                                       and _g(v.list_frac) + _g(v.numeric_frac) >= 0.95)
    return items and _g(v.date_frac) < 0.5 and not _pairs(v)


def _name_pairs(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.list_frac) >= 0.8 and _pairs(v) and _g(v.numeric_frac) < 0.5 \
        and _g(v.alpha_frac) >= 0.9 and _g(v.distinct_frac) >= 0.5


def _embedded(v: ProfileView, f: frozenset[str]) -> bool:
    wrapped = _g(v.currency_frac) + _g(v.percent_frac)
    return (
        (wrapped >= 0.8 or _g(v.embedded_number_frac) >= 0.8)
        and _g(v.date_frac) < 0.5
        and _g(v.word_mean, 1) <= 3
        and not _hash_like(v, f)
    )


def _thousands(v: ProfileView, f: frozenset[str]) -> bool:
    """Numbers written with thousands separators (``12,304,551``): the only separators a
    plain number holds are ``,`` and a minus sign."""
    return (_is_numeric(v) and v.delim_mean is not None
            and v.delim_mean - _g(v.negative_frac) >= 0.8)


_CODE_FLAGS = frozenset({"zip", "postal", "code", "codes"})
_FK_FLAGS = frozenset({"id", "key", "uuid", "user", "acct"})
_COUNT_FLAGS = frozenset({"count", "number", "total", "tot", "age", "size", "points", "runs",
                          "members", "employees", "floors", "units", "days", "years",
                          "installs", "reviews", "balls"})


def _int_codes(v: ProfileView, f: frozenset[str]) -> bool:
    return bool(f & _CODE_FLAGS) and _g(v.int_frac) >= 0.95 and _g(v.float_frac) < 0.05


def _foreign_keys(v: ProfileView, f: frozenset[str]) -> bool:
    return (bool(f & _FK_FLAGS) and not f & _COUNT_FLAGS and _g(v.int_frac) >= 0.99
            and not _unique(v) and _g(v.distinct_count) > 50)


def _small_counts(v: ProfileView, f: frozenset[str]) -> bool:
    return (bool(f & _COUNT_FLAGS) and not f & (_ID_FLAGS | _CODE_FLAGS)
            and _g(v.int_frac) >= 0.99 and v.min is not None and v.min >= 0
            and _g(v.distinct_count) >= 3)


def _epoch(v: ProfileView, f: frozenset[str]) -> bool:
    """Integers in the range of epoch seconds or milliseconds (2000..2040)."""
    if _g(v.int_frac) < 0.99 or v.min is None or v.max is None:
        return False
    return (9.4e8 <= v.min <= v.max <= 2.3e9 or 9.4e11 <= v.min <= v.max <= 2.3e12) \
        and bool(f & _DATE_FLAGS)


def _boolean(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.bool_frac) >= 0.95


def _leading_zero_codes(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.leading_zero_frac) >= 0.05 and _g(v.int_frac) >= 0.95


def _low_card_text(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        _g(v.numeric_frac) < 0.5
        and v.distinct_count is not None
        and 2 <= v.distinct_count <= 50
        and _g(v.distinct_frac, 1) <= 0.2
        and _g(v.word_mean) < 5
    )


def _low_card_ints(v: ProfileView, f: frozenset[str]) -> bool:
    return (
        _g(v.int_frac) >= 0.99
        and v.distinct_count is not None
        and v.distinct_count <= 10
        and _g(v.distinct_frac, 1) <= 0.05
    )


def _continuous(v: ProfileView, f: frozenset[str]) -> bool:
    return _is_numeric(v) and _g(v.float_frac) >= 0.5


def _many_ints(v: ProfileView, f: frozenset[str]) -> bool:
    if f & _FK_FLAGS and not f & _COUNT_FLAGS and _g(v.float_frac) < 0.05:
        return False  # integers under an identifier's name are keys (R-id-04), not amounts
    return _is_numeric(v) and v.distinct_count is not None and v.distinct_count > 50


def _fallback_numeric(v: ProfileView, f: frozenset[str]) -> bool:
    return _g(v.numeric_frac) >= 0.9


def _always(v: ProfileView, f: frozenset[str]) -> bool:
    return True


RULES: tuple[Rule, ...] = (
    Rule("R-empty-01", "not-generalizable", 0.72, _near_empty,
         "{null_frac:.0%} of values are missing"),
    Rule("R-const-01", "not-generalizable", 0.95, _constant,
         "a single distinct value ({distinct_count:.0f}) across {non_null:.0f} values"),
    Rule("R-url-01", "url", 0.95, lambda v, f: _g(v.url_frac) >= 0.8,
         "{url_frac:.0%} of values are URLs"),
    Rule("R-email-01", "not-generalizable", 0.7, lambda v, f: _g(v.email_frac) >= 0.8,
         "{email_frac:.0%} of values are e-mail addresses (identifiers)"),
    Rule("R-date-01", "datetime", 0.95, _date_like,
         "{date_frac:.0%} of values parse as dates, {time_frac:.0%} as times"),
    Rule("R-id-01", "not-generalizable", 0.92, _id_named_unique,
         "name reads as an identifier and all {distinct_count:.0f} values are distinct"),
    Rule("R-id-02", "not-generalizable", 0.85, _serial_int,
         "distinct, increasing integers ({distinct_count:.0f} values): a row key"),
    Rule("R-id-03", "not-generalizable", 0.75, _hash_like,
         "distinct single-token values of fixed length {len_mean:.0f}: codes or hashes"),
    Rule("R-list-01", "list", 0.6, _list_like,
         "{list_frac:.0%} of values are delimiter-separated lists"),
    Rule("R-embedded-01", "embedded-number", 0.55, _embedded,
         "{embedded_number_frac:.0%} numbers in text, {currency_frac:.0%} currency, "
         "{percent_frac:.0%} percentages"),
    Rule("R-list-02", "not-generalizable", 0.6, _name_pairs,
         "every value holds exactly one separator ({delim_mean:.1f} per value), mostly "
         "distinct: pairs of names such as 'Last, First', not lists"),
    Rule("R-embedded-02", "embedded-number", 0.7, _thousands,
         "numbers written with thousands separators ({delim_mean:.1f} per value): "
         "extract the number"),
    Rule("R-code-02", "categorical", 0.86, _int_codes,
         "the name reads as a code or postal code and the values are integers: "
         "labels, not quantities"),
    Rule("R-id-04", "context-specific", 0.62, _foreign_keys,
         "the name reads as an identifier and {distinct_count:.0f} integer values repeat: "
         "keys to other tables, not quantities"),
    Rule("R-count-01", "numeric", 0.88, _small_counts,
         "the name reads as a count and the values are non-negative integers "
         "({min:.0f} to {max:.0f}): a quantity, even with few levels"),
    Rule("R-date-02", "datetime", 0.88, _epoch,
         "a date-like name over integers in the range of epoch (milli)seconds "
         "({min:.3g} to {max:.3g})", transformation="to_timestamp"),
    Rule("R-sentence-01", "sentence", 0.85, _sentence,
         "{word_mean:.1f} words per value on average, {distinct_frac:.0%} distinct"),
    Rule("R-year-01", "categorical", 0.75, _year_like,
         "years ({min:.0f} to {max:.0f}) under a date-like name: periods, used as categories"),
    Rule("R-bool-01", "categorical", 0.9, _boolean,
         "{bool_frac:.0%} of values are true/false or yes/no"),
    Rule("R-code-01", "categorical", 0.8, _leading_zero_codes,
         "{leading_zero_frac:.0%} of digit strings start with 0: codes, not quantities"),
    Rule("R-cat-01", "categorical", 0.8, _low_card_text,
         "{distinct_count:.0f} distinct non-numeric values ({distinct_frac:.1%} distinct)"),
    Rule("R-cat-02", "categorical", 0.62, _low_card_ints,
         "only {distinct_count:.0f} distinct integers ({distinct_frac:.1%} distinct)"),
    Rule("R-num-01", "numeric", 0.92, _continuous,
         "{numeric_frac:.0%} numeric, {float_frac:.0%} with decimals"),
    Rule("R-num-02", "numeric", 0.66, _many_ints,
         "{numeric_frac:.0%} numeric with {distinct_count:.0f} distinct values"),
    Rule("R-fallback-01", "numeric", 0.4, _fallback_numeric,
         "{numeric_frac:.0%} of values are numbers; no stronger evidence"),
    Rule("R-fallback-02", "categorical", 0.3, _always,
         "no rule matched; categorical is the safest default"),
)

_ids = [r.id for r in RULES]
if len(_ids) != len(set(_ids)):  # pragma: no cover - guards edits to RULES
    raise RuntimeError("duplicate rule ids in RULES")
FALLBACK_RULES = frozenset({"R-fallback-01", "R-fallback-02"})


class RuleSet:
    """The rules plus, per user, how often each was right (see the module docstring).

    ``prior_strength`` pseudo-observations at the base confidence keep a rule's posterior
    near its base until evidence accumulates.
    """

    name = "L2-symbolic-rule"

    def __init__(self, rules: tuple[Rule, ...] = RULES, prior_strength: float = 20.0) -> None:
        self.rules = rules
        self.prior_strength = prior_strength
        self._by_id = {r.id: r for r in rules}
        self._counts: dict[str, dict[str, list[int]]] = {}  # user -> rule -> [right, wrong]

    def confidence(self, rule: Rule, user_id: str = "") -> float:
        k = self.prior_strength
        right, wrong = self._counts.get(user_id, {}).get(rule.id, (0, 0))
        return (rule.confidence * k + right) / (k + right + wrong)

    def hits(self, view: ProfileView, flags: Iterable[str], user_id: str = "") -> list[RuleHit]:
        """Every firing rule's recommendation, most confident first (ties: list order)."""
        fl = frozenset(flags)
        fired = [r.apply(view, fl, self.confidence(r, user_id)) for r in self.rules
                 if r.fires(view, fl)]
        return sorted(fired, key=lambda h: -h.confidence)

    def best(self, view: ProfileView, flags: Iterable[str], user_id: str = "") -> RuleHit:
        """The most confident firing rule (the fallback always fires)."""
        return self.hits(view, flags, user_id)[0]

    # --- the layer interface --------------------------------------------------------------
    def predict_proba_one(self, c: Column) -> dict[str, dict[str, float]]:
        """Per type, the confidence of the strongest rule voting for it; the strongest
        rule's actions. ``{}`` for a column known only by its fingerprint."""
        if c.view is None:
            return {}
        hits = self.hits(c.view, c.flags, c.user_id)
        types: dict[str, float] = {}
        for h in hits:
            types.setdefault(h.feature_type, h.confidence)
        best = hits[0]
        return {"feature_type": types,
                "transformation": {best.transformation: best.transformation_confidence},
                "imputation": {best.imputation: best.imputation_confidence}}

    def explain_one(self, c: Column) -> tuple[str, str]:
        if c.view is None:
            return "", ""
        best = self.best(c.view, c.flags, c.user_id)
        return best.rule_id, best.reason

    def learn_one(self, c: Column, y: dict[str, str]) -> None:
        """Count, for every rule firing on ``c``, whether its type was ``y``'s."""
        if c.view is None or "feature_type" not in y:
            return
        fl = frozenset(c.flags)
        for r in self.rules:
            if r.fires(c.view, fl):
                self.record_outcome(c.user_id, r.id, r.feature_type == y["feature_type"])

    def record_outcome(self, user_id: str, rule_id: str, right: bool) -> None:
        """One verdict on a recommendation this rule decided (unknown ids are ignored)."""
        if rule_id not in self._by_id:
            return
        book = self._counts.setdefault(user_id, {}).setdefault(rule_id, [0, 0])
        book[0 if right else 1] += 1

    # --- state (part of the user's UserState) ---------------------------------------------
    def user_doc(self, user_id: str) -> dict:
        return {r: list(v) for r, v in self._counts.get(user_id, {}).items()}

    def load_user_doc(self, user_id: str, doc: dict) -> None:
        self._counts[user_id] = {str(r): [int(v[0]), int(v[1])] for r, v in doc.items()}

    def forget_user(self, user_id: str) -> None:
        self._counts.pop(user_id, None)
