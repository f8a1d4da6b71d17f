"""The recommender: one ProfileView (+ name flags) in, one explained Recommendation out.

Policy, layer by layer:

* **L0 cache** - same user, same ``fingerprint_key``, same model version: the cached answer
  is returned as is (``layer="L0-cache"``, original provenance kept). Any model update
  changes the version, so stale answers are never served.
* **L1 learned rules** - per-user rules induced from corrections (``LearnedRules`` seam,
  ``None`` until the learn stage provides one). A learned rule whose feature-type
  confidence reaches ``review_threshold`` decides, except where the models have the
  user's corrections of this region too (``ModelBank.region_corrections``), the L3 model
  does not side with the rule, and either the model or the L2/L3 decision is more
  confident of another type than the rule is of its own: the models
  learned the same corrections, column by column, while a rule in a region of mixed
  columns says one type for all.
* **L2 symbolic rules** (``rules.RULES``) and **L3 models** (``ModelBank``: prior blended
  with the user's model) are combined:

  - a *strong* rule (base confidence >= ``strong_rule``, not a fallback) decides unless
    the model is more confident of another type; when the model agrees, the confidence
    rises to ``1 - (1 - rule) * (1 - model)``;
  - otherwise a linear opinion pool decides: ``alpha * model + (1 - alpha) * rule vote``.
    ``alpha`` starts at ``synthetic_weight`` (0.3) for a prior trained on generated data
    only, moves towards ``model_weight`` (0.5) as the models learn real examples
    (``r / (r + 200)``, ``r`` = examples learned into the prior + the user's corrections,
    which the user's adapter of the prior learned), then towards 1 by the user's *local*
    evidence (``ModelBank.user_weight(user, fp)``: the local expert's weight in this
    column's region, 0 where the user corrected nothing like it). The weights were chosen
    by file-grouped 2-fold cross-validation on SortingHat's data_train.csv, never on the
    test file. The layer is the one whose top choice won.

  Transformation and imputation are pooled the same way between the model (restricted
  to what is valid for the chosen type, renormalised) and the ``policy`` choice, the
  model's share ``0.5 + 0.5 * `` the local weight of that target.
* **L4** - the overall confidence is the weighted geometric mean
  ``type^0.6 * transformation^0.2 * imputation^0.2``; below ``review_threshold`` the
  answer goes out with ``needs_review=True``; so does it when a prior trained on real
  columns gives the chosen type less than ``model_review`` (0.95), and for columns at least
  ``NEAR_EMPTY`` empty. ``alternatives`` are always the top three
  types, each with its best actions and its reason.

>>> from aurora_stream.profile.view import ProfileView
>>> rec = Recommender(ModelBank()).recommend(
...     ProfileView(count=500, null_frac=0.0, url_frac=0.98, distinct_count=480), ("link",), "ann")
>>> rec.feature_type, rec.transformation, rec.layer, rec.provenance
('url', 'extract_domain', 'L2-symbolic-rule', 'R-url-01')
"""

from __future__ import annotations

from collections.abc import Sequence

from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.cache import Cache
from aurora_stream.recommend.decision import Option, Recommendation
from aurora_stream.recommend.layer import Column, Layer, ModelLayer
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.policy import choose_imputation, choose_transformation
from aurora_stream.recommend.rules import FALLBACK_RULES, RuleHit, RuleSet
from aurora_stream.vocab import FEATURE_TYPES, IMPUTATIONS, TRANSFORMATIONS

NEAR_EMPTY = 0.99
"""Columns at least this empty are always sent for review (confidence capped at 0.5)."""


def _summary(v: ProfileView) -> str:
    """The few statistics a person checks first, for model-made reasons."""
    parts = []
    pct = {"numeric_frac": "numeric", "date_frac": "dates", "url_frac": "URLs",
           "list_frac": "lists", "embedded_number_frac": "numbers in text",
           "null_frac": "missing"}
    for field, label in pct.items():
        x = getattr(v, field)
        if x is not None and x >= 0.05:
            parts.append(f"{x:.0%} {label}")
    if v.distinct_count is not None:
        parts.append(f"{v.distinct_count:.0f} distinct")
    if v.word_mean is not None and v.word_mean >= 2:
        parts.append(f"{v.word_mean:.1f} words/value")
    return ", ".join(parts[:4]) or "few statistics known"


def _top(p: dict[str, float]) -> tuple[str | None, float]:
    if not p:
        return None, 0.0
    k = max(p, key=p.__getitem__)
    return k, p[k]


def _restrict(p: dict[str, float], allowed: Sequence[str]) -> dict[str, float]:
    q = {k: p.get(k, 0.0) for k in allowed}
    total = sum(q.values())
    return {k: v / total for k, v in q.items()} if total > 0 else {}


class Recommender:
    """Layers L0-L4 over one profile (see the module docstring for the policy)."""

    def __init__(
        self,
        models: ModelBank,
        cache: Cache | None = None,
        review_threshold: float = 0.6,
        learned_rules: Layer | None = None,
        *,
        rules: RuleSet | None = None,
        strong_rule: float = 0.85,
        model_weight: float = 0.5,
        synthetic_weight: float = 0.3,
        extra_layers: Sequence[Layer] = (),
        model_review: float = 0.95,
    ) -> None:
        self.models = models
        self.extra_layers = tuple(extra_layers)
        self.model_review = model_review
        self.cache = cache
        self.review_threshold = review_threshold
        self.learned_rules = learned_rules
        self.rules = rules if rules is not None else RuleSet()
        self.model_layer = ModelLayer(models)
        self.strong_rule = strong_rule
        self.model_weight = model_weight
        self.synthetic_weight = synthetic_weight

    # --- entry point ----------------------------------------------------------------
    def recommend(self, view: ProfileView, flags: Sequence[str], user_id: str) -> Recommendation:
        """The recommendation for one column of ``user_id``."""
        return self.decide(Column.of(view, tuple(flags), user_id))

    def decide(self, c: Column) -> Recommendation:
        """The recommendation for a profiled column (``c.view`` is set)."""
        if c.view is None:
            raise ValueError("the recommender needs the column's profile view")
        version = self.models.version(c.user_id)
        if self.cache is not None:
            hit = self.cache.get(c.user_id, c.key, version)
            if hit is not None:
                return hit.served_from("L0-cache")
        rec = self._decide(c, version)
        rec = self._learned(c, rec) or rec
        if self.cache is not None:
            self.cache.put(c.user_id, c.key, version, rec)
        return rec

    # --- L1 -------------------------------------------------------------------------
    def _learned(self, c: Column, fallback: Recommendation) -> Recommendation | None:
        """The learned rule's answer, if one matches confidently; the other options
        come from the L2/L3 decision ``fallback``."""
        if self.learned_rules is None:
            return None
        view, fp, user_id = c.view, c.fp, c.user_id
        assert view is not None
        proba = self.learned_rules.predict_proba_one(c)
        ft, conf = _top(proba.get("feature_type", {}))
        if ft not in TRANSFORMATIONS or conf < self.review_threshold:
            return None
        if self.models.region_corrections(user_id, fp) > 0:
            m_type, m_conf = _top(_restrict(self.models.predict_target(fp, user_id),
                                            FEATURE_TYPES))
            if m_type != ft and (m_conf > conf or (
                    fallback.feature_type != ft and fallback.type_confidence > conf)):
                return None  # the models learned the same corrections and know this column
        rule_id, reason = self.learned_rules.explain_one(c)
        t, tc = _top(_restrict(proba.get("transformation", {}), TRANSFORMATIONS[ft]))
        i, ic = _top(_restrict(proba.get("imputation", {}), IMPUTATIONS))
        if t is None:
            t, tc, _ = choose_transformation(ft, view)
        if i is None:
            i, ic, _ = choose_imputation(ft, view)
        overall = self._overall(conf, tc, ic)
        others = tuple(o for o in fallback.alternatives if o.feature_type != ft)
        alternatives = (Option(ft, t, i, overall, reason), *others[:2])
        return Recommendation(ft, t, i, overall, conf, tc, ic, "L1-learned-rule", rule_id, reason,
                              alternatives, overall < self.review_threshold)

    # --- L2 + L3 --------------------------------------------------------------------
    def _decide(self, c: Column, version: str) -> Recommendation:
        view, fp, user_id = c.view, c.fp, c.user_id
        assert view is not None
        hits = self.rules.hits(view, c.flags, user_id)
        best = hits[0]
        by_type: dict[str, RuleHit] = {}
        for h in hits:
            by_type.setdefault(h.feature_type, h)
        proba = self._pooled_models(c)
        pm = _restrict(proba.get("feature_type", {}), FEATURE_TYPES)
        m_type, m_conf = _top(pm)

        alpha = 0.0 if not pm else self._alpha(user_id, fp)
        vote = {t: (1 - best.confidence) / (len(FEATURE_TYPES) - 1) for t in FEATURE_TYPES}
        vote[best.feature_type] = best.confidence
        scores = {t: alpha * pm.get(t, 0.0) + (1 - alpha) * vote[t] for t in FEATURE_TYPES}

        strong = best.rule_id not in FALLBACK_RULES and best.confidence >= self.strong_rule
        if strong and not (m_type != best.feature_type and m_conf > best.confidence):
            ft = best.feature_type
            agree = m_type == ft
            type_conf = 1 - (1 - best.confidence) * (1 - m_conf) if agree else best.confidence
            layer, provenance = "L2-symbolic-rule", best.rule_id
            reason = best.reason + (f"; model agrees (p={m_conf:.2f})" if agree else "")
            scores[ft] = max(scores[ft], type_conf)
        else:
            ft = max(scores, key=scores.__getitem__)
            type_conf = scores[ft]
            if m_type == ft:
                layer, provenance = "L3-model", version
                reason = f"model p={m_conf:.2f} for {ft} ({_summary(view)})"
                if ft in by_type:
                    reason += f"; rule {by_type[ft].rule_id} agrees"
            else:
                h = by_type.get(ft, best)
                layer, provenance, reason = "L2-symbolic-rule", h.rule_id, h.reason

        near_empty = view.null_frac is not None and view.null_frac >= NEAR_EMPTY
        if near_empty:
            # too few values to know the column: a person decides (L4), never a confident 0.9
            type_conf = min(type_conf, 0.5)
            reason += f"; {view.null_frac:.1%} empty: too few values to be sure, please check"
        options = self._options(view, proba, scores, by_type, user_id, fp, ft)
        chosen, t_conf, i_conf = options[0]
        overall = self._overall(type_conf, t_conf, i_conf)
        if near_empty:
            overall = min(overall, type_conf)
        alternatives = (Option(ft, chosen.transformation, chosen.imputation, overall, reason),
                        *(o for o, _, _ in options[1:3]))
        # L4 also asks when a prior that learned real columns is not sure of the chosen
        # type itself: its probability separates wrong answers from right ones better than
        # the pooled confidence does (file-held-out halves of data_train.csv: 85% of wrong
        # answers below 0.957, against 24% of right ones; bench/accuracy.py)
        unsure = (bool(pm) and self.models.real_examples > 0
                  and pm.get(ft, 0.0) < self.model_review)
        return Recommendation(
            ft, chosen.transformation, chosen.imputation, overall, type_conf, t_conf, i_conf,
            layer, provenance, reason, alternatives,
            overall < self.review_threshold or unsure or near_empty,
        )

    def _pooled_models(self, c: Column) -> dict[str, dict[str, float]]:
        """The L3 model's distributions, averaged per target with those of any extra layer
        (each weighted by its ``weight`` attribute, default 1, the model's being 1): a new
        learned layer is one module with the ``Layer`` interface, passed in ``extra_layers``."""
        proba = self.model_layer.predict_proba_one(c)
        if not self.extra_layers:
            return proba
        parts = [(1.0, proba)] + [(float(getattr(x, "weight", 1.0)), x.predict_proba_one(c))
                                  for x in self.extra_layers]
        out: dict[str, dict[str, float]] = {}
        for target in {t for _, p in parts for t in p}:
            mix: dict[str, float] = {}
            total = sum(w for w, p in parts if p.get(target))
            for w, p in parts:
                for label, v in p.get(target, {}).items():
                    mix[label] = mix.get(label, 0.0) + w * v / total
            out[target] = mix
        return out

    def _options(self, view: ProfileView, proba: dict[str, dict[str, float]],
                 scores: dict[str, float], by_type: dict[str, RuleHit], user_id: str,
                 fp: dict[str, float], chosen: str) -> list[tuple[Option, float, float]]:
        """Chosen type first, then the next two by score, each with its best actions."""
        ranked = [chosen] + [t for t in sorted(scores, key=lambda t: -scores[t]) if t != chosen]
        beta_t = 0.5 + 0.5 * self.models.user_weight(user_id, fp, "transformation")
        beta_i = 0.5 + 0.5 * self.models.user_weight(user_id, fp, "imputation")
        out = []
        for ft in ranked[:3]:
            h = by_type.get(ft)
            pol_t = (h.transformation, h.transformation_confidence) if h else \
                choose_transformation(ft, view)[:2]
            pol_i = (h.imputation, h.imputation_confidence) if h else \
                choose_imputation(ft, view)[:2]
            t, tc = self._pool(proba.get("transformation", {}), TRANSFORMATIONS[ft], pol_t,
                               beta_t)
            i, ic = self._pool(proba.get("imputation", {}), IMPUTATIONS, pol_i, beta_i)
            why = h.reason if h else f"model p={scores[ft]:.2f} ({_summary(view)})"
            out.append((Option(ft, t, i, self._overall(scores[ft], tc, ic), why), tc, ic))
        return out

    def _alpha(self, user_id: str, fp: dict[str, float]) -> float:
        """The model's share in the pool (see the module docstring)."""
        r = self.models.real_examples + self.models.corrections(user_id)
        base = self.synthetic_weight + (self.model_weight - self.synthetic_weight) * r / (r + 200)
        return base + (1 - base) * self.models.user_weight(user_id, fp)

    @staticmethod
    def _pool(model_p: dict[str, float], allowed: Sequence[str], policy: tuple[str, float],
              beta: float) -> tuple[str, float]:
        """Pool the model's (restricted) distribution with the policy's one-hot choice."""
        q = _restrict(model_p, allowed)
        label, conf = policy
        if not q:
            return label, conf
        rest = (1 - conf) / max(len(allowed) - 1, 1)
        pooled = {k: beta * q.get(k, 0.0) + (1 - beta) * (conf if k == label else rest)
                  for k in allowed}
        return _top(pooled)  # type: ignore[return-value]

    @staticmethod
    def _overall(type_conf: float, t_conf: float, i_conf: float) -> float:
        return float(min(1.0, type_conf**0.6 * t_conf**0.2 * i_conf**0.2))
