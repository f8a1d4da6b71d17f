"""Workarounds for measured quirks of the embedded broker (Tansu 0.6) and of Faust on it.

* A fetch with nothing to return is held for the whole ``fetch_max_wait_ms`` even when
  data arrives meanwhile, apparently once per empty partition of the request (measured:
  ~550 ms per hop at Faust's hard-coded 1500 ms; a reader of a 4-partition topic at 50 ms
  saw 225 ms, at 5 ms 10 ms). Workers on Tansu wait 10 ms (2 ms cost a third of the
  throughput in busy polling), readers 5 ms. Faust hard-codes the value, hence the wrapper
  around its consumer factory.
* Faust's table manager sleeps a fixed second before it subscribes; every table here is
  declared before the app starts, so the embedded worker waits 0.1 s instead (a cold
  ``aurora run`` is a few seconds in all, and this second was a quarter of it).
"""

from __future__ import annotations

from typing import Any

from faust.tables import manager as faust_tables
from faust.transport.drivers import aiokafka as faust_aiokafka

EMBEDDED_FETCH_WAIT_MS = 10
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


_tables_patched = False


def quick_table_start(app: Any, delay: float = 0.1) -> None:
    """Make this app's table manager wait ``delay`` instead of 1 s before subscribing."""
    global _tables_patched
    app.aurora_table_start_delay = delay
    if _tables_patched:
        return

    async def on_start(self: Any) -> None:
        await self.sleep(getattr(self.app, "aurora_table_start_delay", 1.0))
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()

    faust_tables.TableManager.on_start = on_start
    _tables_patched = True
