"""Learn agent and prior follower: corrections -> users' state; prior updates -> every worker.

Corrections are keyed by user, so one user's learning is serial on the worker that owns her
partition. Per batch: apply every correction, ``commit`` (each touched user's state is ONE
signed write, durable BEFORE anything announces it), publish the privatized prior updates
and the learn events, and only then may Faust commit the offsets. A worker killed anywhere
in between is replaced by one that reloads the users from the store and finds the applied
ids there: a redelivered correction is a ``duplicate``, never applied twice.

The prior follower reads ``aurora.prior-updates`` on EVERY worker (no consumer group, all of
its single partition, from the start) and learns each update once, in topic order.
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
    to_correction,
    to_prior_update,
)
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import Correction, InvalidEvent, PriorUpdateEvent, decode
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
        await PriorFollower(app.conf.broker, runtime).run()

    @app.on_partitions_revoked.connect
    async def forget_users(app: Any, revoked: Any, **kwargs: Any) -> None:
        # Another worker may own these users next and write their state; what this worker
        # holds would be stale if their partitions come back. Reload on next need (between
        # batches: never in the middle of one).
        runtime.learner.forget_at_next_batch()


class PriorFollower:
    """Reads every prior update on every worker and learns it once (see the module docstring)."""

    def __init__(self, brokers: Any, runtime: Any, save_every: float = 1.0) -> None:
        self.bootstrap = ",".join(f"{u.host}:{u.port}" for u in brokers)
        self.runtime = runtime
        self.save_every = save_every

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
                        try:
                            update = to_prior_update(decode(PriorUpdateEvent, m.value))
                        except (InvalidEvent, ValueError, TypeError) as exc:
                            log.warning("skipping invalid prior update at offset %d: %s",
                                        m.offset, exc)
                            continue
                        if learner.apply_prior_update(update):
                            self.runtime.metrics.prior_updates.inc()
                        self.runtime.pending_prior.discard(update.update_id)
                now = time.monotonic()
                # a new prior version changes every served model version: the L0 cache
                # misses by itself; saving promptly keeps the embedded mode's prior durable
                if learner.prior_dirty and (now - last_save >= self.save_every
                                            or not self.runtime.pending_prior):
                    learner.save_prior()
                    last_save = now
        finally:
            await kafka.stop()
