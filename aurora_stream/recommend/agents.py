"""Recommend agent: column-profiles -> recommendations (+ review requests when unsure)."""

from __future__ import annotations

import logging
import time
from typing import Any

from aurora_stream.recommend.service import recommendation_event, review_request
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import ColumnProfile, decode

log = logging.getLogger("aurora.recommend")


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the recommend agent to the app."""

    @app.agent(topics["aurora.column-profiles"], name="aurora.recommend")
    async def recommend(stream: Any) -> None:
        async for event in stream.events():
            try:
                profile = decode(ColumnProfile, event.value)
                t0 = time.perf_counter()
                rec = recommendation_event(runtime.recommender, profile)
                runtime.metrics.recommend_seconds.observe(time.perf_counter() - t0)
            except Exception as exc:
                log.exception("recommend failed")
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            key = f"{rec.dataset_id}:{rec.column}".encode()
            out = Outbox()
            await out.send(topics["aurora.recommendations"], key=key, value=rec.to_bytes())
            if rec.needs_review:
                await out.send(
                    topics["aurora.review-requests"], key=key, value=review_request(rec).to_bytes()
                )
            await out.flush()
            runtime.metrics.recommendations.labels(layer=rec.layer).inc()
