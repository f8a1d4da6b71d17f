"""Learn agent and prior follower: corrections -> users' state; prior updates -> every worker.

Corrections are keyed by user, so one user's learning is serial on the worker that owns her
partition. Per batch: apply every correction, ``commit`` (each touched user's state is ONE
signed write, durable BEFORE anything announces it), publish the privatized prior updates
and the learn events, and only then may Faust commit the offsets. A worker killed anywhere
in between is replaced by one that reloads the users from the store and finds the applied
ids there: a redelivered correction is a ``duplicate``, never applied twice.

The prior follower reads ``aurora.prior-updates`` on EVERY worker (no consumer group, all of
its single partition, from the start) and learns each update once, in topic order: the old
per-correction ``prior-update`` events and the central-DP ``shared-aggregate`` releases
(``privacy/aggregate.py``). It also publishes this worker's own releases: when the learner's
pending aggregate is ready (``Learner.take_release``), the noised release is saved with the
prior state first, then sent; one saved but not yet read back is sent again, same id and
same noise, after a restart (``Learner.unsent``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer

from aurora_stream.identity import CORRECTIONS as CORRECTIONS_QUOTA
from aurora_stream.learn.outcomes import (
    learn_events,
    prior_update_event,
    release_event,
    to_correction,
    to_prior_update,
    to_release,
)
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import (
    Correction,
    InvalidEvent,
    PriorUpdateEvent,
    SharedAggregateEvent,
    decode,
)
from aurora_stream.wire.topics import CORRECTIONS, LEARN_EVENTS, PRIOR_UPDATES, user_key

log = logging.getLogger("aurora.learn")


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the learn agent and the prior follower to the app."""

    @app.agent(topics[CORRECTIONS], name="aurora.learn")
    async def learn(stream: Any) -> None:
        async for batch in stream.take_events(200, within=0.005):
            runtime.learner.safe_point()
            runtime.learner.batch_open = True
            try:
                await _learn_batch(batch)
            except Exception:  # Faust acks the batch anyway: never let one escape silently
                log.exception("learn batch failed after its state was saved; its learn "
                              "events may be missing (a retried correction is a duplicate)")
            finally:
                runtime.learner.batch_open = False

    async def _learn_batch(batch: list[Any]) -> None:
        t0 = time.perf_counter()
        outcomes, applied_events = [], []
        for event in batch:
            try:
                correction = decode(Correction, event.value)
                await runtime.gate.admit(event, correction.user_id, CORRECTIONS_QUOTA, 1,
                                         topics, runtime)  # signed by her, within quota
                out = runtime.learner.apply(to_correction(correction, runtime.sealing_key))
            except Exception as exc:  # invalid, unsigned, over quota: report, keep going
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            outcomes.append(out)
            applied_events.append(event)
        if not outcomes:
            return
        try:
            runtime.learner.commit(outcomes)  # durable first
        except Exception as exc:  # disk full, Redis down: nothing of this batch counts
            users = {o.user_id for o in outcomes}
            runtime.learner.forget(users)  # in memory as in the store: not applied
            log.error("could not save learned state (%s); %d correction(s) refused",
                      exc, len(outcomes))
            for event in applied_events:
                await deadletter.send(topics, runtime, event,
                                      f"not applied: learned state could not be saved "
                                      f"({exc.__class__.__name__}: {exc}); send it again")
            return
        for out in outcomes:
            runtime.metrics.corrections.labels(
                outcome="duplicate" if out.duplicate else "applied").inc()
        outbox = Outbox()
        for out in outcomes:
            if out.prior_update is not None:
                runtime.pending_prior.add(out.prior_update.update_id)
                await outbox.send(topics[PRIOR_UPDATES],
                                  key=out.prior_update.update_id.encode(),
                                  value=prior_update_event(out.prior_update).to_bytes())
            for ev in learn_events(out):
                await outbox.send(topics[LEARN_EVENTS], key=user_key(ev.user_id),
                                  value=ev.to_bytes())
        await outbox.flush()
        runtime.metrics.learn_seconds.observe(time.perf_counter() - t0)

    @app.task
    async def follow_prior_updates() -> None:
        await PriorFollower(app.conf.broker, runtime, topic=topics[PRIOR_UPDATES]).run()

    @app.on_partitions_revoked.connect
    async def forget_users(app: Any, revoked: Any, **kwargs: Any) -> None:
        # Another worker may own these users next and write their state; what this worker
        # holds would be stale if their partitions come back. Reload on next need (between
        # batches: never in the middle of one).
        runtime.learner.forget_at_next_batch()


class PriorFollower:
    """Reads every prior update on every worker and learns it once (see the module docstring)."""

    def __init__(self, brokers: Any, runtime: Any, save_every: float = 1.0,
                 topic: Any = None) -> None:
        self.bootstrap = ",".join(f"{u.host}:{u.port}" for u in brokers)
        self.runtime = runtime
        self.save_every = save_every
        self.topic = topic  # where this worker publishes its releases (None: it does not)
        self._sent: set[str] = set()

    def _apply(self, value: bytes, offset: int) -> None:
        learner, metrics = self.runtime.learner, self.runtime.metrics
        try:
            if b'"release_id"' in value:
                rel = to_release(decode(SharedAggregateEvent, value))
                if learner.apply_release(rel):
                    metrics.shared_releases.inc()
                return
            update = to_prior_update(decode(PriorUpdateEvent, value))
        except (InvalidEvent, ValueError, TypeError) as exc:
            log.warning("skipping invalid prior update at offset %d: %s", offset, exc)
            return
        if learner.apply_prior_update(update):
            metrics.prior_updates.inc()
        self.runtime.pending_prior.discard(update.update_id)

    async def publish_releases(self) -> None:
        """Noise the pending aggregate if it is ready, save, then send what is unsent."""
        learner = self.runtime.learner
        if self.topic is None or learner.batch_open:
            return
        fresh = learner.take_release()
        todo = [r for r in learner.unsent if r.release_id not in self._sent]
        if not todo:
            return
        if fresh is not None or learner.prior_dirty:
            learner.save_prior()  # durable before it leaves: never noised twice
        outbox = Outbox()
        for rel in todo:
            await outbox.send(self.topic, key=rel.release_id.encode(),
                              value=release_event(rel).to_bytes())
        await outbox.flush()
        self._sent.update(r.release_id for r in todo)
        self.runtime.metrics.shared_published.inc(len(todo))

    async def run(self) -> None:
        kafka = AIOKafkaConsumer(PRIOR_UPDATES, bootstrap_servers=self.bootstrap, group_id=None,
                                 auto_offset_reset="earliest", fetch_max_wait_ms=50,
                                 enable_auto_commit=False,
                                 **self.runtime.kafka_client_options())
        await kafka.start()
        learner, last_save = self.runtime.learner, time.monotonic()
        try:
            while True:
                batch = await kafka.getmany(timeout_ms=200, max_records=500)
                for msgs in batch.values():
                    for m in msgs:
                        self._apply(m.value, m.offset)
                try:
                    await self.publish_releases()
                except Exception as exc:  # kept in ``unsent``: sent again next time
                    log.warning("could not publish a shared-aggregate release: %s", exc)
                now = time.monotonic()
                # a new prior version changes every served model version: the L0 cache
                # misses by itself; saving promptly keeps the embedded mode's prior durable
                if learner.prior_dirty and (now - last_save >= self.save_every
                                            or not self.runtime.pending_prior):
                    learner.save_prior()
                    last_save = now
        finally:
            await kafka.stop()
