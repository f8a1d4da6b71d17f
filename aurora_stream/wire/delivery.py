"""At-least-once output: an agent waits until what it sent is on the broker before it moves
on, because Faust acknowledges (and later commits) an input event as soon as the agent takes
the next one, while its sends may still sit in the producer buffer. Without this, a killed
worker could commit inputs whose outputs never left the process (seen in the crash test).

A send the broker refuses for a while (a rebalance, a restarting broker) is sent again with
backoff: Faust acknowledges an input even when its agent raised (``take_events`` acks its
batch in a ``finally``), so an agent that gave up here would lose that input's outputs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("aurora.delivery")


class Outbox:
    """Sends of one input event, delivered together by ``flush``."""

    def __init__(self, attempts: int = 6, backoff: float = 0.2) -> None:
        self.pending: list[tuple[Any, bytes | None, bytes, Any, Any]] = []
        self.attempts = attempts
        self.backoff = backoff

    async def send(self, topic: Any, *, key: bytes | None, value: bytes,
                   headers: Any = None) -> None:
        fut = await topic.send(key=key, value=value, headers=headers)
        self.pending.append((topic, key, value, headers, fut))

    async def flush(self) -> None:
        """Wait until every send is acknowledged by the broker, sending again what failed
        (``attempts`` times in all, backoff doubling); raises the last error after that."""
        pending, self.pending = self.pending, []
        for attempt in range(self.attempts):
            results = await asyncio.gather(*(p[-1] for p in pending), return_exceptions=True)
            failed = [p for p, r in zip(pending, results, strict=True)
                      if isinstance(r, BaseException)]
            if not failed:
                return
            error = next(r for r in results if isinstance(r, BaseException))
            if attempt == self.attempts - 1:
                raise error
            log.warning("%d send(s) failed (%r); sending again", len(failed), error)
            await asyncio.sleep(self.backoff * 2 ** attempt)
            pending = [(t, k, v, h, await t.send(key=k, value=v, headers=h))
                       for t, k, v, h, _ in failed]
