"""From a finished column profile to the recommendation event (plain Python, no broker)."""

from __future__ import annotations

import hashlib
import time

from aurora_stream.profile.view import ProfileView
from aurora_stream.recommend.layer import Column
from aurora_stream.recommend.recommender import Recommender
from aurora_stream.recommend.seal import seal
from aurora_stream.wire.records import ColumnProfile, Recommendation, ReviewRequest


def recommendation_id(dataset_id: str, column: int) -> str:
    """Stable id of the recommendation for one column of one published file.

    The same (dataset, column) always gets the same id, so a consumer deduplicates the
    redeliveries of at-least-once delivery by it.
    """
    return hashlib.blake2b(f"{dataset_id}\x00{column}".encode(), digest_size=12).hexdigest()


def recommendation_event(recommender: Recommender, profile: ColumnProfile,
                         sealing_key: bytes | None = None) -> Recommendation:
    """Recommend for one column and wrap the decision as an event (sealed when a key is
    given, see ``seal.py``)."""
    c = Column.of(ProfileView.from_dict(profile.view), tuple(profile.flags), profile.user_id)
    decision = recommender.decide(c)
    rec = Recommendation(
        **decision.to_dict(),  # the decision's fields, alternatives already as dicts
        recommendation_id=recommendation_id(profile.dataset_id, profile.column),
        dataset_id=profile.dataset_id, user_id=profile.user_id, column=profile.column,
        n_columns=profile.n_columns, model_version=recommender.models.version(profile.user_id),
        fingerprint=c.fp, fingerprint_key=c.key, rows=profile.rows,
        rows_rejected=profile.rows_rejected, created_at=time.time(),
    )
    if sealing_key is not None:
        rec.seal = seal(sealing_key, rec.asdict())
    return rec


def review_request(rec: Recommendation) -> ReviewRequest:
    """The L4 question to a person: the top three options, each with its reason."""
    return ReviewRequest(
        recommendation_id=rec.recommendation_id, dataset_id=rec.dataset_id,
        user_id=rec.user_id, column=rec.column, confidence=rec.confidence,
        options=rec.alternatives[:3],
        reason=f"confidence {rec.confidence:.2f} is below the review threshold",
    )
