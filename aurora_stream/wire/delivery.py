"""At-least-once output: an agent waits until what it sent is on the broker before it moves
on, because Faust acknowledges (and later commits) an input event as soon as the agent takes
the next one, while its sends may still sit in the producer buffer. Without this, a killed
worker could commit inputs whose outputs never left the process (seen in the crash test)."""

from __future__ import annotations

import asyncio
from typing import Any


class Outbox:
    """Sends of one input event, delivered together by ``flush``."""

    def __init__(self) -> None:
        self.pending: list[Any] = []

    async def send(self, topic: Any, *, key: bytes | None, value: bytes) -> None:
        self.pending.append(await topic.send(key=key, value=value))

    async def flush(self) -> None:
        """Wait until every send is acknowledged by the broker (raises if one failed)."""
        if self.pending:
            pending, self.pending = self.pending, []
            await asyncio.gather(*pending)
