"""Recommendations round-trip through JSON-ready dicts."""

from __future__ import annotations

import orjson

from aurora_stream.recommend.decision import Option, Recommendation


def test_recommendation_survives_json_round_trip() -> None:
    alts = (Option("numeric", "log1p", "median", 0.55, "skew 4.1"),
            Option("categorical", "target", "mode", 0.2, "40 distinct values"),
            Option("context-specific", "drop", "none", 0.1, "model p=0.10"))
    rec = Recommendation("numeric", "log1p", "median", 0.55, 0.6, 0.5, 0.5, "L3-model",
                         "user:ann@v3+prior-v1", "model p=0.60", alts, True)
    back = Recommendation.from_dict(orjson.loads(orjson.dumps(rec.to_dict())))
    assert back == rec
    assert back.served_from("L0-cache").layer == "L0-cache"
    assert back.served_from("L0-cache").provenance == rec.provenance
