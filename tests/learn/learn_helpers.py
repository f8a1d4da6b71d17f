"""Columns (as views and fingerprints) and correction events shared by the learn tests."""

from __future__ import annotations

import itertools
from dataclasses import replace

import orjson

from aurora_stream.learn.learner import Correction, Triple
from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key
from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.decision import Recommendation
from aurora_stream.recommend.recommender import Recommender

INT_CODES = ProfileView(count=5000, null_count=0, null_frac=0.0, distinct_count=6,
                        distinct_frac=0.0012, numeric_frac=1.0, int_frac=1.0, float_frac=0.0,
                        alpha_frac=0.0, mean=3.1, std=1.4, min=1, max=6, is_unique=0.0,
                        is_constant=0.0, len_mean=1.0, word_mean=1.0)
SENTENCE = ProfileView(count=800, null_count=8, null_frac=0.01, distinct_count=790,
                       distinct_frac=1.0, numeric_frac=0.0, int_frac=0.0, alpha_frac=1.0,
                       len_mean=85.0, len_std=30.0, word_mean=14.0, word_std=5.0,
                       stopword_mean=5.0, is_unique=1.0, is_constant=0.0)
PRICE = ProfileView(count=3000, null_count=30, null_frac=0.01, distinct_count=2500,
                    distinct_frac=0.84, numeric_frac=1.0, int_frac=0.1, float_frac=0.9,
                    alpha_frac=0.0, mean=52.0, std=40.0, skew=1.1, min=0.5, max=400.0,
                    is_unique=0.0, is_constant=0.0)
_ids = itertools.count()


def variants(view: ProfileView, n: int) -> list[ProfileView]:
    """``n`` columns of the same kind with different lengths (distinct fingerprints)."""
    return [replace(view, count=view.count * (3.5 ** i)) for i in range(n)]


def correction(rec: Recommendation, view: ProfileView, user: str, *, flags=(),
               accepted: bool = False, cid: str | None = None, **corrected: str) -> Correction:
    """The event a person posts about ``rec`` (``corrected``: corrected_feature_type=...)."""
    fp = fingerprint(view, flags)
    return Correction(
        correction_id=cid or f"c-{next(_ids)}", user_id=user, recommendation_id="r",
        fingerprint=fp, fingerprint_key=fingerprint_key(fp), model_version="",
        recommended=Triple(rec.feature_type, rec.transformation, rec.imputation),
        layer=rec.layer, provenance=rec.provenance, accepted=accepted,
        **{f"corrected_{k}": v for k, v in corrected.items()})


def answers(rec: Recommender, views: list[ProfileView], user: str) -> bytes:
    """Everything the recommender says about ``views`` for ``user``, as bytes."""
    return orjson.dumps([rec.recommend(v, (), user).to_dict() for v in views])
