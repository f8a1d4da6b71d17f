"""Workarounds for measured quirks of the embedded broker (Tansu 0.6), in one place.

* A fetch with nothing to return is held for the whole ``fetch_max_wait_ms`` even when
  data arrives meanwhile (measured: ~550 ms per hop at Faust's hard-coded 1500 ms, 1-7 ms at
  50 ms). Four hops made a 1 MB file take over 2 s, so embedded consumers poll with a short
  wait. Faust hard-codes the value, hence the wrapper around its consumer factory.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

EMBEDDED_FETCH_WAIT_MS = 20
_patched = False


def short_fetch_wait(app: Any, ms: int = EMBEDDED_FETCH_WAIT_MS) -> None:
    """Make this app's Faust consumers wait at most ``ms`` for a fetch (others unchanged)."""
    global _patched
    app.aurora_fetch_wait_ms = ms
    if _patched:
        return
    original = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        wait = getattr(self.app, "aurora_fetch_wait_ms", None)
        if wait:
            consumer._fetch_max_wait_ms = wait
        return consumer

    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = create
    _patched = True
