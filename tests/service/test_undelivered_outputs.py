"""Outputs the broker refuses are never lost silently: Faust acknowledges an agent's input
whatever its body did, so when a stage's sends fail after their retries it dead-letters the
inputs they came from, keyed so that the publisher's collector names them (real broker, real
in-process worker).

The fault is injected: ``Outbox`` is patched so that sends to the one topic under test never
leave and its flush raises at once (as the real one does after its six attempts). A real
broker cannot be made to refuse one topic's produce requests while it still takes the dead
letters."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from service_helpers import in_process_worker, unique, worker_settings

from aurora_stream.client.consume import DatasetFailed, ResultCollector
from aurora_stream.identity import credential_for, token_headers
from aurora_stream.service.metrics import classify_reason
from aurora_stream.wire import delivery

CSV = "id,name,price\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(50))


def _refuse(monkeypatch: pytest.MonkeyPatch, topic: str) -> None:
    """Sends to ``topic`` never reach the broker, and their flush raises."""
    real_send, real_flush = delivery.Outbox.send, delivery.Outbox.flush

    async def send(self: delivery.Outbox, target, *, key, value, headers=None) -> None:
        if target.get_topic_name() != topic:
            await real_send(self, target, key=key, value=value, headers=headers)
            return
        self.pending.append((target, key, value, headers, None))

    async def flush(self: delivery.Outbox) -> None:
        if any(p[-1] is None for p in self.pending):
            self.pending = []
            raise RuntimeError(f"injected: the broker refused {topic}")
        await real_flush(self)

    monkeypatch.setattr(delivery.Outbox, "send", send)
    monkeypatch.setattr(delivery.Outbox, "flush", flush)


def _run(broker, home, ds: str) -> tuple[list, dict[int, str], Exception | None]:
    settings = worker_settings(broker.url, home)
    signed = token_headers(credential_for(settings, "ana", issue=True))
    chunk = orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "seq": 0, "last": True,
                          "first_line": 1, "data": CSV})

    async def main():
        async with in_process_worker(settings, broker.url):
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            await p.start()
            try:
                await p.send_and_wait("aurora.csv-chunks", chunk, key=ds.encode(),
                                      headers=signed)
                try:
                    recs = await col.wait(ds, timeout=60, n_columns=3)
                except DatasetFailed as exc:
                    return [], col.refused(ds), exc
                return recs, col.refused(ds), None
            finally:
                await p.stop()
                await col.stop()

    return asyncio.run(main())


@pytest.mark.timeout(120)
def test_refused_column_chunks_fail_the_file_with_their_reason(
        broker, aurora_home, monkeypatch) -> None:
    _refuse(monkeypatch, "aurora.column-chunks")
    recs, _, failed = _run(broker, aurora_home, unique("undelivered"))
    assert recs == [] and failed is not None
    assert "column-chunks could not be sent" in str(failed), failed
    assert classify_reason(str(failed)) == "undelivered"  # aurora_dead_letters_total{reason}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("topic, says", [
    ("aurora.column-profiles", "profile could not be sent"),
    ("aurora.recommendations", "recommendation could not be sent"),
])
def test_refused_profiles_or_recommendations_name_every_column(
        broker, aurora_home, monkeypatch, topic: str, says: str) -> None:
    _refuse(monkeypatch, topic)
    recs, refused, failed = _run(broker, aurora_home, unique("undelivered"))
    assert failed is None and recs == []
    assert sorted(refused) == [0, 1, 2], refused
    assert all(says in reason and "injected" in reason for reason in refused.values()), refused
    assert {classify_reason(reason) for reason in refused.values()} == {"undelivered"}
