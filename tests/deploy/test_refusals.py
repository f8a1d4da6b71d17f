"""aurora_refusals_total{kind="privacy_budget"} counts a prior update the worker declined to
share because the user's daily privacy budget is spent (one share costs 0.25: a budget of
0.25 allows one), and a correction echoing a recommendation that was not issued as echoed
is refused as ``unsealed_correction`` (and dead-lettered with that reason class)."""

from __future__ import annotations

import asyncio
import re
import urllib.request
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.feedback import correction_for, send_and_wait
from aurora_stream.client.publish import publish_file
from aurora_stream.config import Settings
from aurora_stream.identity import credential_for, token_headers
from aurora_stream.service.ports import free_port
from aurora_stream.service.worker import Worker
from aurora_stream.wire.topics import CORRECTIONS

REPO = Path(__file__).resolve().parents[2]


def _metric(port: int, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for got, value in re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        if all(f'{k}="{v}"' in got for k, v in labels.items()):
            total += float(value)
    return total


def test_privacy_budget_refusal_is_counted(broker, aurora_home: Path) -> None:
    port = free_port()
    user = f"u-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(broker=broker.url, home=aurora_home, metrics_port=port,
                                 epsilon_per_day=0.25, app_id=f"t-ref-{uuid.uuid4().hex[:8]}")

    async def main() -> tuple[float, float]:
        worker = await Worker(settings, broker.url).start(timeout=60)
        try:
            collector = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                ds = f"ref-{uuid.uuid4().hex[:8]}"
                await publish_file(REPO / "examples" / "clean.csv", broker.bootstrap,
                                   dataset_id=ds, user_id=user)
                recs = await collector.wait(ds, timeout=60)
            finally:
                await collector.stop()
            corrections = []
            for rec in recs[:2]:
                other = "categorical" if rec.feature_type != "categorical" else "numeric"
                corrections.append(correction_for(rec, accepted=False, feature_type=other))
            done, _ = await send_and_wait(broker.bootstrap, corrections, timeout=60)
            assert len(done) == 2
            forged = correction_for(recs[2], accepted=False, feature_type="categorical"
                                    if recs[2].feature_type != "categorical" else "numeric")
            forged.recommendation["feature_type"] = "text"  # no longer what was issued
            kafka = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
            await kafka.start()
            try:
                await kafka.send_and_wait(  # signed by her: only the seal is wrong
                    CORRECTIONS, forged.to_bytes(), key=user.encode(),
                    headers=token_headers(credential_for(settings, user, issue=True)))
            finally:
                await kafka.stop()
            for _ in range(100):
                unsealed = await asyncio.to_thread(_metric, port, "aurora_refusals_total",
                                                   kind="unsealed_correction")
                if unsealed:
                    break
                await asyncio.sleep(0.1)
            assert unsealed == 1
            dead = await asyncio.to_thread(_metric, port, "aurora_dead_letters_total",
                                           source="learn", reason="unsealed_correction")
            assert dead == 1
            # the server runs in this loop: read it from another thread
            budget = await asyncio.to_thread(_metric, port, "aurora_refusals_total",
                                             kind="privacy_budget")
            applied = await asyncio.to_thread(_metric, port, "aurora_corrections_total",
                                              outcome="applied")
            return budget, applied
        finally:
            await worker.stop()

    budget, applied = asyncio.run(main())
    assert applied == 2
    # one of the two shares is refused; a batch redelivered after a rebalance (the machine
    # under load) is applied again from the stored state and may be refused again: the
    # counter counts refusals, not distinct corrections
    assert budget >= 1, budget

