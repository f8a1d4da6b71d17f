"""Own the worker's lifecycle in code: start, wait until ready, stop; and the embedded stack.

A Faust ``Worker`` would take over the event loop and signals; here the app runs as a
service inside the caller's loop, so ``aurora run`` can publish, wait for results and exit
with nothing left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aurora_stream.config import Settings
from aurora_stream.service.broker import EmbeddedBroker
from aurora_stream.service.homelock import HomeLock, check_free_space
from aurora_stream.service.runtime import Runtime

log = logging.getLogger("aurora.worker")
timeline = logging.getLogger("aurora.timeline")
"""Milestones of a start (INFO): what ``aurora bench coldstart --phases`` reads."""


def _bootstrap(broker_url: str) -> str:
    """kafka://h:p;kafka://h2:p2 -> h:p,h2:p2 (what aiokafka takes)."""
    parts = [p.strip() for p in broker_url.replace(",", ";").split(";") if p.strip()]
    return ",".join(p.split("://", 1)[-1] for p in parts)


@dataclass
class Worker:
    """One in-process Faust worker with every agent of the pipeline."""

    settings: Settings
    broker_url: str
    runtime: Runtime | None = None
    app: Any = field(default=None, init=False)
    topics: dict[str, Any] = field(default_factory=dict, init=False)
    health: Any = field(default=None, init=False)  # observability: service/health.py

    @property
    def bootstrap(self) -> str:
        return _bootstrap(self.broker_url)

    async def start(self, timeout: float = 60.0) -> Worker:
        """Start the app, declare every topic, and return once partitions are assigned."""
        from aurora_stream.service.app import create_app

        check_free_space(self.settings.ensure_home())
        self.runtime = self.runtime or Runtime.build(self.settings)
        self.app, self.topics = create_app(self.settings, self.broker_url, self.runtime)
        if self.settings.metrics_port and self.health is None:  # observability
            from aurora_stream.service import health  # /metrics, /healthz, /readyz
            self.health = await health.serve(self)
        await self.app.start()
        for topic in self.topics.values():
            await topic.maybe_declare()
        deadline = time.monotonic() + timeout
        while not self.ready:
            if self.app.crashed or time.monotonic() > deadline:
                reason = getattr(self.app, "_crash_reason", None)
                await self.stop(drain=0)
                if reason is not None:
                    raise RuntimeError(f"worker failed to start: {reason!r}")
                raise TimeoutError(f"worker not ready after {timeout:.0f}s")
            await asyncio.sleep(0.05)
        timeline.info("worker ready")
        return self

    @property
    def ready(self) -> bool:
        """True once the consumer group has assigned this worker its partitions."""
        app = self.app
        try:
            return bool(app and not app.rebalancing and app.consumer.assignment())
        except Exception:  # asked while the app is still building its consumer
            return False

    async def stop(self, drain: float = 5.0) -> None:
        """Stop agents, flush the producer, leave the group; first wait (up to ``drain``
        seconds) until the prior updates this worker published are learned back, and
        save the prior, so a short-lived embedded worker keeps what it shared."""
        if self.app is not None:
            rt = self.runtime
            deadline = time.monotonic() + drain
            while rt is not None and rt.pending_prior and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await self.app.stop()
            if rt is not None and rt.learner.prior_dirty:
                rt.learner.save_prior()
            with contextlib.suppress(Exception):
                for table in self.app.tables.values():
                    table.data.close()
            self.app = None
        if self.health is not None:  # observability
            await self.health.stop()
            self.health = None


class BrokerStopped(RuntimeError):
    """The embedded broker exited while the command ran (killed, or out of memory)."""

    def __init__(self, code: int, log: Path | None) -> None:
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        where = f"; its log: {log}" if log else ""
        super().__init__(f"the embedded broker stopped while this ran ({how}); it keeps "
                         f"nothing, so run the command again{where}")


on_stuck_broker_exit: Callable[[BrokerStopped], None] | None = None
"""Called when the command has not ended ``STUCK_AFTER`` seconds after the embedded broker
exited (a cancel can be swallowed, e.g. while Faust starts); the CLI prints the error and
leaves the process."""
STUCK_AFTER = 5.0


@dataclass
class _Watch:
    owner: asyncio.Task
    task: asyncio.Task | None = None
    code: int | None = None
    caught: bool = False  # the stack has turned the cancellation into BrokerStopped
    stopping: bool = False  # the stack stops the broker itself: its exit is no fault


def _watch(broker: EmbeddedBroker, every: float = 0.5) -> _Watch:
    """Cancel the calling task when the embedded broker's process exits: without it, the
    worker's clients retry a dead broker until the command's own timeout (measured: a
    SIGKILLed broker mid-file left ``aurora run`` logging connection errors for 195 s)."""
    owner = asyncio.current_task()
    assert owner is not None
    watch = _Watch(owner)

    async def poll() -> None:
        proc = broker.process
        while proc is not None and proc.poll() is None:
            await asyncio.sleep(every)
        if proc is None:
            return
        watch.code = proc.returncode
        # Cancel until the stack has caught it: clean-ups on the way (a producer's or a
        # consumer's stop) wait on the dead broker too, and each is cut short by one cancel.
        while not watch.caught and not owner.done():
            owner.cancel()
            await asyncio.sleep(every * 2)

    def stuck() -> None:
        """A thread: the event loop itself may be held (Faust crashing while it starts)."""
        proc = broker.process
        if proc is None:
            return
        proc.wait()
        if watch.stopping:
            return
        time.sleep(STUCK_AFTER)
        if on_stuck_broker_exit is not None:
            on_stuck_broker_exit(BrokerStopped(proc.returncode, broker.log_path))

    watch.task = asyncio.get_running_loop().create_task(poll())
    threading.Thread(target=stuck, name="aurora-broker-watch", daemon=True).start()
    return watch


@contextlib.asynccontextmanager
async def running_stack(settings: Settings, *, with_worker: bool = True,
                        broker_log: Path | None = None, lock_wait: float = 120.0
                        ) -> AsyncIterator[tuple[str, Worker | None]]:
    """The broker (embedded unless settings.broker) and optionally a worker, torn down on exit.

    Embedded, the stack holds AURORA_HOME's lock (``HomeLock``) while it runs: two processes
    never write one home's learned state at once; a second one waits up to ``lock_wait``
    seconds, then fails with ``HomeBusy`` naming the holder.

    Yields ``(bootstrap, worker)``; ``bootstrap`` is what plain Kafka clients connect to.
    """
    broker: EmbeddedBroker | None = None
    lock: HomeLock | None = None
    if settings.embedded:
        home = settings.ensure_home()
        lock = HomeLock(home).acquire(wait=lock_wait)
        try:
            broker = EmbeddedBroker(log_path=broker_log or home / "broker.log").start()
        except BaseException:
            lock.release()
            raise
        timeline.info("broker up")
        broker_url = broker.url
    else:
        broker_url = settings.broker or ""
    worker = None
    watch = _watch(broker) if broker is not None else None
    try:
        if with_worker:
            worker = await Worker(settings, broker_url).start()
        yield _bootstrap(broker_url), worker
    except asyncio.CancelledError:
        if watch is None or watch.code is None:
            raise
        watch.caught = True
        while watch.owner.uncancel():
            pass
        raise BrokerStopped(watch.code, broker.log_path if broker else None) from None
    finally:
        died = watch is not None and watch.code is not None
        if watch is not None and watch.task is not None:
            watch.task.cancel()
        try:
            if worker is not None and not died:  # with the broker gone, Faust's stop
                await worker.stop()  # waits on it for minutes: skip it
        finally:
            if watch is not None:
                watch.stopping = not died
            if broker is not None:
                broker.stop()
            if lock is not None:
                lock.release()
