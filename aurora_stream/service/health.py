"""The worker's HTTP endpoints for a cluster: ``/metrics``, ``/healthz``, ``/readyz``.

One small aiohttp server (aiohttp comes with Faust) in the worker's own event loop, on
``AURORA_METRICS_HOST:AURORA_METRICS_PORT`` (default 127.0.0.1; 0.0.0.0 in containers so
Prometheus and the orchestrator reach it; off while the port is 0):

* ``GET /healthz``: 200 while the process and its event loop run (a wedged loop does not
  answer, which is what a liveness probe should see). Docker's HEALTHCHECK uses it.
* ``GET /readyz``: 200 once the consumer group has assigned this worker its partitions and
  the broker accepts connections, else 503; the JSON body says which check failed. A
  replica with nothing assigned (more replicas than partitions) is not ready.
* ``GET /metrics``: the worker's Prometheus registry (see service/metrics.py), with the
  scrape-time collector of consumer lag and the served prior.

Neither body carries user or dataset ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aurora_stream.service.metrics import WorkerCollector

log = logging.getLogger("aurora.health")
BROKER_CHECK_TIMEOUT = 1.0
END_OFFSETS_EVERY = 5.0  # seconds between ListOffsets requests for the lag gauge
BROKER_CHECK_TTL = 2.0  # seconds a broker check result is reused (probes can be frequent)


def _brokers(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        if host and port.isdigit():
            out.append((host.strip("[]"), int(port)))
    return out


class HealthServer:
    """The endpoints of one worker; ``await start()``, ``await stop()``."""

    def __init__(self, worker: Any, host: str, port: int) -> None:
        self.worker = worker
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Future | None = None
        self._broker_ok: tuple[float, bool] = (0.0, False)
        self.started_at = time.time()
        metrics = worker.runtime.metrics
        self.registry = metrics.registry
        if not getattr(metrics, "_worker_collector", None):
            metrics._worker_collector = WorkerCollector(worker)
            self.registry.register(metrics._worker_collector)
        learner = getattr(worker.runtime, "learner", None)
        if learner is not None and getattr(learner, "privacy", None) is not None:
            metrics.count_privacy_refusals(learner.privacy)

    async def start(self) -> HealthServer:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._refresher = asyncio.ensure_future(self._refresh_end_offsets())
        log.info("health and metrics on http://%s:%d", self.host, self.port)
        return self

    async def _refresh_end_offsets(self) -> None:
        """Every few seconds, the brokers' end offsets of the assigned partitions (what a
        paused partition's fetch highwater would miss); see WorkerCollector. Read with a
        group-less client of its own in this loop, never through Faust's consumer thread
        (whose queue also carries the fetches and commits)."""
        collector = self.worker.runtime.metrics._worker_collector
        reader = None
        try:
            while True:
                await asyncio.sleep(END_OFFSETS_EVERY)
                try:
                    app = self.worker.app
                    tps = [tp for tp in app.consumer.assignment()
                           if tp.topic in self.worker.topics]
                    if not tps:
                        continue
                    if reader is None:
                        reader = AIOKafkaConsumer(
                            bootstrap_servers=self.worker.bootstrap, group_id=None,
                            enable_auto_commit=False, request_timeout_ms=5000,
                            **self.worker.runtime.kafka_client_options())
                        await reader.start()
                    ends = await asyncio.wait_for(
                        reader.end_offsets([TopicPartition(tp.topic, tp.partition)
                                            for tp in tps]), END_OFFSETS_EVERY)
                    collector.end_offsets = {(tp.topic, tp.partition): int(v)
                                             for tp, v in ends.items() if v is not None}
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # not started, rebalancing, broker away: next round
                    log.debug("end offsets not read: %r", exc)
        finally:
            if reader is not None:
                with contextlib.suppress(Exception):
                    await reader.stop()

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(BaseException):
                await self._refresher
            self._refresher = None
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "uptime_s": round(time.time()
                                                                    - self.started_at, 1)})

    async def readyz(self, request: web.Request) -> web.Response:
        assigned = bool(self.worker.ready)
        broker = await self.broker_reachable()
        ok = assigned and broker
        return web.json_response(
            {"status": "ready" if ok else "not ready",
             "checks": {"partitions_assigned": assigned, "broker_reachable": broker}},
            status=200 if ok else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def broker_reachable(self) -> bool:
        """True when one of the bootstrap brokers accepts a TCP connection (cached briefly)."""
        checked, ok = self._broker_ok
        if time.monotonic() - checked < BROKER_CHECK_TTL:
            return ok
        ok = False
        for host, port in _brokers(self.worker.bootstrap):
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                   BROKER_CHECK_TIMEOUT)
            except (TimeoutError, OSError):
                continue
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            ok = True
            break
        self._broker_ok = (time.monotonic(), ok)
        return ok


async def serve(worker: Any) -> HealthServer:
    """Start the endpoints of ``worker`` on its settings' metrics host and port."""
    s = worker.settings
    return await HealthServer(worker, s.metrics_host, s.metrics_port).start()
