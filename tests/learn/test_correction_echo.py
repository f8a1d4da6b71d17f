"""A correction is about the recommendation it echoes: its own recommendation_id, dataset_id
and column must say what the sealed echo says (learn events and the review page go by the
event's fields; a correction of column 0 dressed as one of column 5 answered column 5)."""

from __future__ import annotations

import pytest

from aurora_stream.learn.learner import InvalidCorrection
from aurora_stream.learn.outcomes import to_correction
from aurora_stream.profile.fingerprint import fingerprint_key
from aurora_stream.recommend.seal import seal, seal_key
from aurora_stream.wire.records import Correction

KEY = seal_key(b"k" * 32)


def sealed() -> dict:
    rec = {"recommendation_id": "r1", "dataset_id": "d1", "user_id": "ana", "column": 0,
           "feature_type": "url", "transformation": "drop", "imputation": "none",
           "layer": "L2-symbolic-rule", "provenance": "R-url-01", "model_version": "prior-v1",
           "fingerprint": {"url_frac": 1.0}}
    rec["fingerprint_key"] = fingerprint_key(rec["fingerprint"])
    rec["seal"] = seal(KEY, rec)
    return rec


def correction(**kw: object) -> Correction:
    rec = sealed()
    fields = {"correction_id": "c1", "user_id": "ana", "dataset_id": rec["dataset_id"],
              "column": rec["column"], "recommendation_id": rec["recommendation_id"],
              "accepted": False, "recommendation": rec, "feature_type": "categorical"}
    return Correction(**{**fields, **kw})


def test_a_correction_that_says_what_its_echo_says_is_taken() -> None:
    assert to_correction(correction(), KEY).recommendation_id == "r1"


@pytest.mark.parametrize("field,value", [("dataset_id", "other-ds"), ("column", 5),
                                         ("recommendation_id", "r2")])
def test_a_correction_about_another_column_than_its_echo_is_refused(field: str,
                                                                    value: object) -> None:
    with pytest.raises(InvalidCorrection, match=f"another {field}"):
        to_correction(correction(**{field: value}), KEY)
