"""Faust on Tansu 0.6 (the embedded broker), through Faust's documented seams.

Measured quirks, and what the app does about them (only when the broker is Tansu):

* A fetch with nothing to return is held for the whole ``fetch_max_wait_ms`` even when
  data arrives meanwhile, apparently once per empty partition of the request (measured:
  ~550 ms per hop at Faust's hard-coded 1500 ms; a reader of a 4-partition topic at 50 ms
  saw 225 ms, at 5 ms 10 ms). Workers on Tansu wait 10 ms (2 ms cost a third of the
  throughput in busy polling). Faust hard-codes the value where it builds the aiokafka
  consumer, so the app uses the ``tansu://`` transport registered here (Faust's transport
  registry), whose consumer thread sets it on the consumer it builds.
* Faust's table manager sleeps a fixed second before it subscribes; every table here is
  declared before the app starts, so the embedded worker's table manager waits 0.1 s
  (``App(TableManager=...)``): a cold ``aurora run`` is a few seconds in all, and this
  second was a quarter of it.

Its consumer also commits safely (:mod:`aurora_stream.service.commits`), like the
``aurorakafka://`` transport used on any other Kafka broker.
"""

from __future__ import annotations

from typing import Any

from faust.tables.manager import TableManager as FaustTableManager
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from aurora_stream.service import commits

FETCH_WAIT_MS = 10
TABLE_START_DELAY = 0.1
SCHEME = "tansu"


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the constructor's value here until start() builds its fetcher;
        # Faust passes a hard-coded 1500 ms, which Tansu holds for every empty fetch.
        consumer._fetch_max_wait_ms = FETCH_WAIT_MS
        return consumer


class Consumer(commits.SafeCommits, faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """aiokafka transport with Tansu's fetch wait (``tansu://host:port`` broker URLs)."""

    Consumer = Consumer


class TableManager(FaustTableManager):
    async def on_start(self) -> None:
        await self.sleep(TABLE_START_DELAY)
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


drivers.TRANSPORTS.update({SCHEME: f"{__name__}:Transport"})


def broker_urls(broker: str) -> str:
    """``kafka://h:p;kafka://h2:p2`` -> the same brokers through the Tansu transport."""
    return commits.broker_urls(broker, SCHEME)
