"""Recommend agent: column-profiles (keyed by user) -> recommendations (+ review requests).

Profiles arrive re-keyed by user and co-partitioned with ``aurora.corrections``, so the
worker that recommends for a user is the one that learns from her corrections; her state
is loaded from the store the first time this worker needs it after an assignment.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aurora_stream.identity.gate import Refused
from aurora_stream.recommend.layer import UserStateUnavailable
from aurora_stream.recommend.service import recommendation_event, review_request
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import ColumnProfile, InvalidEvent, decode
from aurora_stream.wire.topics import (
    COLUMN_PROFILES,
    RECOMMENDATIONS,
    REVIEW_REQUESTS,
    column_key,
)

log = logging.getLogger("aurora.recommend")
BATCH = 500  # profiles per delivery wait
BATCH_WAIT = 0.005  # seconds a batch waits to fill


def _load_user(runtime: Any, user_id: str) -> str | None:
    """Load the user's state; if it cannot be read (store down, tampered blob), nothing
    of hers is held in memory (no later write can overwrite her stored state with an empty
    one) and the reason is returned: she is served as a new user this time."""
    try:
        runtime.learner.ensure(user_id)
        return None
    except UserStateUnavailable as exc:
        log.warning("%s", exc)
        runtime.learner.forget([user_id])
        runtime.metrics.state_unavailable.inc()
        return "your learned state is unavailable right now"


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the recommend agent to the app."""

    @app.agent(topics[COLUMN_PROFILES], name="aurora.recommend")
    async def recommend(stream: Any) -> None:
        # In batches: one delivery wait per batch, not per column (a 2,000-column file was
        # 2,000 round trips); Faust acks the batch after this body, so outputs are on the
        # broker before their inputs are committed.
        async for batch in stream.take_events(BATCH, within=BATCH_WAIT):
            try:
                await _recommend_batch(batch)
            except Exception:  # Faust acks the batch anyway: never let one escape silently
                log.exception("recommend batch failed")

    async def _recommend_batch(batch: list[Any]) -> None:
        runtime.learner.safe_point()
        out, n = Outbox(), 0
        answered: list[tuple[Any, bytes]] = []  # events whose recommendation is in the outbox
        for event in batch:
            try:
                profile = decode(ColumnProfile, event.value)
                # a profile is as trusted as its signature: anyone who can write to the
                # topic could otherwise have a sealed recommendation issued to any user
                await runtime.gate.admit(event, profile.user_id, None, 0, topics, runtime)
                t0 = time.perf_counter()
                degraded = _load_user(runtime, profile.user_id)
                rec = recommendation_event(runtime.recommender, profile, runtime.sealing_key)
                if degraded:  # degrade, do not fail: the shared prior answers, and says so
                    rec.reason += f" (served from the shared prior: {degraded})"
                    rec.needs_review = True
                runtime.metrics.recommend_seconds.observe(time.perf_counter() - t0)
            except InvalidEvent as exc:
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            except Refused as exc:  # keyed dataset:column, so the publisher sees the column
                m = event.message  # refused instead of waiting for it
                await deadletter.send_letter(topics, runtime, deadletter.dead_letter(
                    str(exc), m.topic, m.partition, m.offset, m.value,
                    column_key(profile.dataset_id, profile.column)))
                continue
            except Exception as exc:  # one bad event must not stop the agent
                log.exception("recommend failed")
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            key = column_key(rec.dataset_id, rec.column)
            await out.send(topics[RECOMMENDATIONS], key=key, value=rec.to_bytes())
            if rec.needs_review:
                await out.send(topics[REVIEW_REQUESTS], key=key,
                               value=review_request(rec).to_bytes())
            runtime.metrics.recommendations.labels(layer=rec.layer).inc()
            answered.append((event, key))
            n += 1
        if not n:
            return
        try:
            await out.flush()
        except Exception as exc:  # refused after retries: Faust acknowledges the batch all
            log.exception("recommendations could not be sent")  # the same, so tell the
            for event, key in answered:  # publisher which columns went unanswered (keyed
                m = event.message  # dataset:column, as the publisher's collector reads them)
                dl = deadletter.dead_letter(
                    "the recommendation could not be sent to the broker after retries "
                    f"({exc!r})", m.topic, m.partition, m.offset, m.value, key)
                try:
                    await deadletter.send_letter(topics, runtime, dl)
                except Exception:
                    log.exception("dead letter could not be sent either")
