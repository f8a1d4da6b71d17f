"""Send corrections and acceptances, and wait until the learn agent has applied them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

from aurora_stream.events import Correction, InvalidEvent, LearnEvent, Recommendation, decode
from aurora_stream.service.consume import consumer
from aurora_stream.service.publish import producer
from aurora_stream.service.topics import CORRECTIONS, LEARN_EVENTS
from aurora_stream.vocab import ALL_TRANSFORMATIONS, FEATURE_TYPES, IMPUTATIONS


def correction_for(rec: Recommendation, *, user_id: str | None = None, accepted: bool,
                   feature_type: str | None = None, transformation: str | None = None,
                   imputation: str | None = None) -> Correction:
    """A correction (or acceptance) event echoing the recommendation it refers to."""
    for value, allowed, what in ((feature_type, FEATURE_TYPES, "feature type"),
                                 (transformation, ALL_TRANSFORMATIONS, "transformation"),
                                 (imputation, IMPUTATIONS, "imputation")):
        if value is not None and value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(allowed)}")
    return Correction(
        correction_id=uuid.uuid4().hex, user_id=user_id or rec.user_id, dataset_id=rec.dataset_id,
        column=rec.column, recommendation_id=rec.recommendation_id, accepted=accepted,
        recommendation=rec.asdict(), feature_type=feature_type, transformation=transformation,
        imputation=imputation, created_at=time.time(),
    )


async def send_and_wait(bootstrap: str, corrections: Sequence[Correction],
                        timeout: float = 60.0) -> dict[str, LearnEvent]:
    """Send corrections keyed by user and return the learn outcome of each, by correction id.

    Raises TimeoutError if the learn agent has not applied them all within ``timeout``.
    """
    reader = consumer(bootstrap, LEARN_EVENTS, from_start=False)
    await reader.start()
    try:
        deadline = time.monotonic() + 15
        while not reader.assignment() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for tp in reader.assignment():
            await reader.position(tp)
        kafka = producer(bootstrap)
        await kafka.start()
        try:
            for c in corrections:
                await kafka.send(CORRECTIONS, c.to_bytes(), key=c.user_id.encode())
            await kafka.flush()
        finally:
            await kafka.stop()
        wanted = {c.correction_id for c in corrections}
        done: dict[str, LearnEvent] = {}
        deadline = time.monotonic() + timeout
        while wanted - done.keys():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(wanted - done.keys())} correction(s) not applied "
                                   f"after {timeout:.0f}s")
            batch = await reader.getmany(timeout_ms=100)
            for msgs in batch.values():
                for m in msgs:
                    try:
                        ev = decode(LearnEvent, m.value)
                    except InvalidEvent:
                        continue
                    if ev.correction_id in wanted and ev.kind in ("applied", "duplicate"):
                        done[ev.correction_id] = ev
        return done
    finally:
        await reader.stop()
