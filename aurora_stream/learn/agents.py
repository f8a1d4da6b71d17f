"""Learn agent: corrections (keyed by user, so one user's learning is serial) -> learning.

Corrections are taken in small batches; after each batch the touched users' state is saved
(signed, on local disk) BEFORE the learn events go out and the offsets are committed, so a
correction is either durable or redelivered (and a redelivery is ignored by its id).
The user's learned rules are also kept in the changelog-backed ``learned-rules`` table.
"""

from __future__ import annotations

import logging
from typing import Any

from aurora_stream.learn.outcomes import learn_events, to_correction
from aurora_stream.learn.persistence import Saver
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import Correction, decode

log = logging.getLogger("aurora.learn")


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the learn agent and the learned-rules table to the app."""
    rules_table = app.Table(
        "learned-rules",
        key_type=str,
        value_type=str,
        use_partitioner=True,
        partitions=topics["aurora.corrections"].partitions,
    )
    saver = Saver(runtime.learner)

    @app.agent(topics["aurora.corrections"], name="aurora.learn")
    async def learn(stream: Any) -> None:
        async for batch in stream.take_events(200, within=0.005):
            outcomes = []
            for event in batch:
                try:
                    out = runtime.learner.apply(to_correction(decode(Correction, event.value)))
                except Exception as exc:  # invalid event or label: report, keep going
                    await deadletter.send(topics, runtime, event, str(exc))
                    continue
                outcomes.append(out)
                runtime.metrics.corrections.labels(
                    outcome="duplicate" if out.duplicate else "applied"
                ).inc()
            if not outcomes:
                continue
            users = {o.user_id for o in outcomes if not o.duplicate}
            saver.save(users, prior_changed=any(o.prior_update for o in outcomes))
            for user in users:
                rules_table[user] = runtime.learner.rules.user_to_bytes(user).decode()
            outbox = Outbox()
            for out in outcomes:
                for ev in learn_events(out):
                    await outbox.send(
                        topics["aurora.learn-events"], key=ev.user_id.encode(), value=ev.to_bytes()
                    )
            await outbox.flush()
