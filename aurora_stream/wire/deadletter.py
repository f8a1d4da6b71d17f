"""Dead letters: invalid input is reported with where it came from, never dropped silently."""

from __future__ import annotations

import logging
import time
from typing import Any

from aurora_stream.wire.records import DeadLetter
from aurora_stream.wire.topics import DEAD_LETTER, raw_topics

log = logging.getLogger("aurora.dead-letter")


def dead_letter(reason: str, topic: str, partition: int, offset: int,
                value: bytes | None, key: bytes | None = None) -> DeadLetter:
    """A dead letter for one message; the message itself only when its topic holds no raw data."""
    event = None
    if value is not None and topic not in raw_topics():
        event = value[:65536].decode("utf-8", errors="replace")
    log.warning("dead letter from %s[%d]@%d: %s", topic, partition, offset, reason)
    return DeadLetter(reason=reason, source_topic=topic, source_partition=partition,
                      source_offset=offset, created_at=time.time(), event=event,
                      key=key[:200].decode("utf-8", errors="replace") if key else None)


def from_event(event: Any, reason: str) -> DeadLetter:
    """A dead letter for the Faust event currently being processed."""
    m = event.message
    return dead_letter(reason, m.topic, m.partition, m.offset, m.value, m.key)


async def send(topics: dict[str, Any], runtime: Any, event: Any, reason: str) -> None:
    """Send the current event to aurora.dead-letter and count it."""
    await send_letter(topics, runtime, from_event(event, reason))


async def send_letter(topics: dict[str, Any], runtime: Any, dl: DeadLetter) -> None:
    """Send one dead letter (keyed by its source topic), delivered before returning."""
    sent = await topics[DEAD_LETTER].send(key=dl.source_topic.encode(), value=dl.to_bytes())
    await sent  # delivered before the input event is acknowledged
    runtime.metrics.dead_letter(dl.source_topic, dl.reason)  # by stage and reason class
