"""Over quota, a user's event is refused visibly: a Refusal on aurora.refusals keyed by her,
a dead letter with the reason, and nothing learned from it (real broker, real worker)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from service_helpers import EXAMPLES, in_process_worker, read_topic, unique, worker_settings

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.feedback import CorrectionRefused, FeedbackClient, correction_for
from aurora_stream.client.publish import publish_file


@pytest.mark.timeout(120)
def test_corrections_over_quota_are_refused_with_a_refusal_the_user_can_read(
        broker, aurora_home: Path) -> None:
    settings = worker_settings(broker.url, aurora_home, quota_corrections_per_min=1)
    user = unique("quota")

    async def main():
        async with in_process_worker(settings, broker.url) as worker:
            col = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                ds = unique("q")
                await publish_file(EXAMPLES / "clean.csv", broker.bootstrap, dataset_id=ds,
                                   user_id=user)
                recs = await col.wait(ds, timeout=60)
            finally:
                await col.stop()
            fb = await FeedbackClient(broker.bootstrap).start()
            try:
                first = await fb.send_and_wait(
                    [correction_for(recs[0], accepted=False, feature_type="categorical")], 30)
                with pytest.raises(CorrectionRefused, match="over quota"):
                    await fb.send_and_wait(
                        [correction_for(recs[1], accepted=False, feature_type="url")], 30)
            finally:
                await fb.stop()
            refusals = await read_topic(
                broker.bootstrap, "aurora.refusals", timeout=10,
                until=lambda ms: any(m.key == user.encode() for m in ms))
            return first, refusals, worker.runtime.learner

    first, refusals, learner = asyncio.run(main())
    assert [e.kind for e in first.values()] == ["applied"]
    mine = [orjson.loads(m.value) for m in refusals if m.key == user.encode()]
    assert mine and mine[0]["user_id"] == user and "over quota" in mine[0]["reason"]
    learner.ensure(user)
    assert learner.bank.corrections(user) == 1  # the refused one taught nothing
