"""From correction events to the learner's input, and from its outcome to learn events."""

from __future__ import annotations

import time

from aurora_stream.learn.learner import Correction, InvalidCorrection, LearnOutcome, Triple
from aurora_stream.privacy.aggregate import Release
from aurora_stream.privacy.dp import PriorUpdate
from aurora_stream.recommend.seal import check
from aurora_stream.wire.records import Correction as CorrectionEvent
from aurora_stream.wire.records import LearnEvent, PriorUpdateEvent, SharedAggregateEvent

_ECHO = ("fingerprint", "fingerprint_key", "model_version", "feature_type", "transformation",
         "imputation", "layer", "provenance")


def to_correction(event: CorrectionEvent, sealing_key: bytes | None = None) -> Correction:
    """The learner's view of a correction event; raises InvalidCorrection when the echoed
    recommendation lacks what learning needs or (with ``sealing_key``) is not one this
    deployment issued to this user (``recommend/seal.py``)."""
    rec = event.recommendation
    if sealing_key is not None:
        why = check(sealing_key, rec)
        if why is None and rec.get("user_id") != event.user_id:
            why = "the correction's user is not the recommendation's user"
        if why is not None:
            raise InvalidCorrection(why)
    missing = [k for k in _ECHO if k not in rec]
    if missing:
        raise InvalidCorrection(f"recommendation echo lacks {', '.join(missing)}")
    for name in ("recommendation_id", "dataset_id", "column"):  # the event's own fields
        # say what the echo says (sealed), or learn events and the review page would
        # close another column's review with this answer
        if rec.get(name, getattr(event, name)) != getattr(event, name):
            raise InvalidCorrection(f"recommendation echo has another {name}")
    if not isinstance(rec["fingerprint"], dict):
        raise InvalidCorrection("recommendation fingerprint is not an object")
    return Correction(
        correction_id=event.correction_id, user_id=event.user_id,
        recommendation_id=event.recommendation_id,
        fingerprint={str(k): float(v) for k, v in rec["fingerprint"].items()},
        fingerprint_key=str(rec["fingerprint_key"]), model_version=str(rec["model_version"]),
        recommended=Triple(str(rec["feature_type"]), str(rec["transformation"]),
                           str(rec["imputation"])),
        layer=str(rec["layer"]), provenance=str(rec["provenance"]), accepted=event.accepted,
        corrected_feature_type=event.feature_type,
        corrected_transformation=event.transformation,
        corrected_imputation=event.imputation,
    )


def learn_events(out: LearnOutcome) -> list[LearnEvent]:
    """What one applied correction tells the world (no raw value, no column name)."""
    now = time.time()
    base = {"user_id": out.user_id, "correction_id": out.correction_id, "created_at": now}
    if out.duplicate:
        return [LearnEvent(kind="duplicate", detail={"model_version": out.model_version}, **base)]
    events = [LearnEvent(kind="applied", detail={"label": out.label, "learned": out.learned,
                                                 "model_version": out.model_version}, **base)]
    if out.rule_induced is not None:
        events.append(LearnEvent(kind="rule-induced", detail=out.rule_induced.to_dict(), **base))
    if out.switch is not None:
        events.append(LearnEvent(kind=out.switch.kind, detail=out.switch.to_dict(), **base))
    if out.prior_update is not None:
        events.append(LearnEvent(kind="prior-update", detail=out.prior_update.to_dict(), **base))
    return events


def prior_update_event(update: PriorUpdate) -> PriorUpdateEvent:
    """The shared-prior update as it goes on ``aurora.prior-updates`` (no user id)."""
    return PriorUpdateEvent(update_id=update.update_id, fingerprint=update.fingerprint,
                            label=update.label, epsilon=update.epsilon, created_at=time.time())


def to_prior_update(event: PriorUpdateEvent) -> PriorUpdate:
    """The learner's view of an update read from ``aurora.prior-updates``."""
    return PriorUpdate({str(k): float(v) for k, v in event.fingerprint.items()},
                       {str(k): str(v) for k, v in event.label.items()}, float(event.epsilon),
                       event.update_id)


def release_event(rel: Release) -> SharedAggregateEvent:
    """A central-DP release as it goes on ``aurora.prior-updates`` (no user, no count)."""
    return SharedAggregateEvent(release_id=rel.release_id, domain=rel.domain,
                                observed=list(rel.observed), expected=list(rel.expected),
                                epsilon=rel.epsilon, created_at=time.time())


def to_release(event: SharedAggregateEvent) -> Release:
    """The learner's view of a release read from ``aurora.prior-updates``."""
    return Release(event.release_id, tuple(map(float, event.observed)),
                   tuple(map(float, event.expected)), float(event.epsilon), event.domain)
