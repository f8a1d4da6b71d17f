"""The committed offset never passes an event still being processed, whatever the order in
which concurrent actors finish (the cause of the crash test's lost chunks).

Runs Faust's own consumer bookkeeping (``track``, ``Consumer.ack``, ``_new_offset``) of the
consumer class the worker uses, on a Faust app that is built but never started: no broker
is needed to decide what to commit, and none is replaced.
"""

from __future__ import annotations

import random

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from aurora_stream.service import commits, tansu

TOPIC = "aurora.csv-chunks"
PARTITION = TP(TOPIC, 0)


def _consumer(url: str):
    app = faust.App(f"commits-{random.random()}", broker=url, web_enabled=False,
                    autodiscover=False)
    app.topics._acking_topics.add(TOPIC)  # what declaring an agent on the topic does
    return app.consumer


def _message(offset: int) -> Message:
    return Message(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=PARTITION)


class Actors:
    """Offsets fed in order into one FIFO channel; ``n`` actors take and finish them."""

    def __init__(self, consumer, n: int, total: int, committed: int | None) -> None:
        self.consumer = consumer
        self.queue = list(range(committed or 0, total))
        self.busy: list[Message] = []
        self.n = n
        self.done: set[int] = set()
        self.skipped: set[int] = set()
        self.committed = committed
        consumer._committed_offset[PARTITION] = committed

    def take(self) -> None:
        if self.queue and len(self.busy) < self.n:
            m = _message(self.queue.pop(0))
            self.consumer.track_message(m)  # what the stream iterator does on take
            self.busy.append(m)

    def skip(self) -> None:
        """A message no stream takes (stale generation, or dropped as already read)."""
        if self.queue:
            self.skipped.add(self.queue.pop(0))

    def finish(self, i: int) -> None:
        if self.busy:
            m = self.busy.pop(i % len(self.busy))
            self.done.add(m.offset)
            self.consumer.ack(m)

    def commit(self) -> int | None:
        offset = self.consumer._new_offset(PARTITION)
        if offset is not None and self.consumer._should_commit(PARTITION, offset):
            self.consumer._committed_offset[PARTITION] = offset
            self.committed = offset
        return offset


steps = st.lists(st.tuples(st.sampled_from("ttffcs"), st.integers(0, 7)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(steps=steps, n=st.integers(1, 4), committed=st.sampled_from([None, 0, 5, 47]))
@pytest.mark.parametrize("url", ["tansu://127.0.0.1:1", "aurorakafka://127.0.0.1:1"])
def test_commit_never_passes_an_unprocessed_offset(url, steps, n, committed) -> None:
    consumer = _consumer(url)
    assert isinstance(consumer, commits.SafeCommits)
    first = committed or 0
    actors = Actors(consumer, n, first + 40, committed)
    for op, i in steps:
        {"t": actors.take, "f": lambda i=i: actors.finish(i), "c": actors.commit,
         "s": actors.skip}[op]()
        if actors.committed is not None:
            skipped = [o for o in range(first, actors.committed) if o not in actors.done]
            assert not skipped, f"committed {actors.committed} past unprocessed {skipped}"
    # and it does move on: once everything taken is finished, all of it is committed up
    # to the first offset nobody processed (before a start is known: nothing)
    while actors.busy:
        actors.finish(0)
    actors.commit()
    if committed is None:
        assert actors.committed is None
    else:
        expected = committed
        while expected in actors.done:
            expected += 1
        assert actors.committed == expected


def test_faust_own_choice_skips_the_event_in_flight() -> None:
    """Why the mixin exists: Faust 0.15.3 commits past an event a second actor overtook."""
    consumer = faust.App("commits-faust", broker="kafka://127.0.0.1:1", web_enabled=False,
                         autodiscover=False).consumer
    consumer.app.topics._acking_topics.add(TOPIC)
    assert type(consumer) is faust_aiokafka.Consumer
    consumer._committed_offset[PARTITION] = 47
    slow, fast = _message(47), _message(48)
    consumer.track_message(slow)
    consumer.track_message(fast)
    consumer.ack(fast)
    assert consumer._new_offset(PARTITION) == 49  # 47 was never processed

    ours = _consumer("tansu://127.0.0.1:1")
    ours._committed_offset[PARTITION] = 47
    slow, fast = _message(47), _message(48)
    ours.track_message(slow)
    ours.track_message(fast)
    ours.ack(fast)
    assert ours._new_offset(PARTITION) is None
    ours.ack(slow)
    assert ours._new_offset(PARTITION) == 49


def test_worker_brokers_use_the_safe_transports() -> None:
    assert commits.broker_urls("kafka://a:1;b:2") == "aurorakafka://a:1;aurorakafka://b:2"
    assert tansu.broker_urls("kafka://a:1") == "tansu://a:1"


CSV = "id,name,price\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(40))


@pytest.mark.timeout(120)
def test_worker_commits_from_a_known_start_and_keeps_up(broker, aurora_home) -> None:
    """On the real broker, a new group: every assigned partition gets its start (nothing
    committed yet, so the earliest offset), and once files are answered the committed
    offsets of aurora.csv-chunks reach the end of what was published (no stall)."""
    import asyncio

    import orjson
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from service_helpers import in_process_worker, unique, worker_settings

    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.identity import credential_for, token_headers

    settings = worker_settings(broker.url, aurora_home)
    signed = token_headers(credential_for(settings, "ana", issue=True))

    async def main():
        async with in_process_worker(settings, broker.url) as worker:
            consumer = worker.app.consumer
            assert isinstance(consumer, commits.SafeCommits)
            starts = {tp: consumer._committed_offset[tp] for tp in consumer.assignment()}
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            await p.start()
            sent: dict[int, int] = {}
            try:
                for n in range(6):
                    ds = unique(f"commits-{n}")
                    chunk = orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "seq": 0,
                                          "last": True, "first_line": 1, "data": CSV})
                    md = await p.send_and_wait("aurora.csv-chunks", chunk, key=ds.encode(),
                                               headers=signed)
                    sent[md.partition] = md.offset + 1
                    await col.wait(ds, timeout=60, n_columns=3)
            finally:
                await p.stop()
                await col.stop()
            reader = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap,
                                      group_id=settings.app_id, enable_auto_commit=False)
            await reader.start()
            try:
                committed: dict[int, int | None] = {}
                for _ in range(40):  # the commit timer runs every 0.5 s
                    committed = {part: await reader.committed(
                        TopicPartition("aurora.csv-chunks", part)) for part in sent}
                    if committed == sent:
                        break
                    await asyncio.sleep(0.25)
            finally:
                await reader.stop()
            return starts, sent, committed

    starts, sent, committed = asyncio.run(main())
    assert starts and all(v is not None for v in starts.values()), starts
    assert committed == sent, f"committed {committed}, published up to {sent}"


@pytest.mark.timeout(180)
def test_events_cleared_from_stream_queues_are_fetched_again(
        broker, aurora_home, tmp_path, monkeypatch) -> None:
    """Faust clears the stream queues on every ``flow_control.resume()`` (its recovery does
    it once more after seeking and starting the fetcher). With the parse agent held up, a
    file's chunks pile up in the queue; Faust's resume would throw them away unprocessed
    (the file then never completes: seen before the fix). They are kept and the file is
    answered in full.

    The hold-up is injected (``process_chunk`` waits on an event): nothing else makes the
    queue hold events at the moment of a resume deterministically."""
    import asyncio
    import threading

    from service_helpers import in_process_worker, unique, wide_csv, worker_settings

    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.publish import publish_file
    from aurora_stream.identity import credential_for
    from aurora_stream.profile import agents as profile_agents

    gate = threading.Event()
    real = profile_agents.process_chunk

    def held(chunk):
        gate.wait(60)
        return real(chunk)

    monkeypatch.setattr(profile_agents, "process_chunk", held)
    path = tmp_path / "file.csv"
    header = wide_csv(path, rows=3_000, seed=3)
    settings = worker_settings(broker.url, aurora_home)
    token = credential_for(settings, "tester", issue=True)

    async def main():
        async with in_process_worker(settings, broker.url) as worker:
            flow = worker.app.flow_control
            assert isinstance(flow, commits.KeepCurrentEvents)
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            try:
                ds = unique("cleared")
                pub = await publish_file(path, broker.bootstrap, dataset_id=ds,
                                         user_id="tester", chunk_bytes=4096, token=token)
                queued = 0
                for _ in range(100):  # until chunks wait in the parse agent's queue
                    queued = sum(q.qsize() for q in list(flow._queues))
                    if queued >= 5:
                        break
                    await asyncio.sleep(0.1)
                flow.resume()  # what Faust's recovery does after its seek
                gate.set()
                recs = await col.wait(ds, timeout=90, n_columns=len(header))
                return pub, queued, flow.kept, recs
            finally:
                gate.set()
                await col.stop()

    pub, queued, kept, recs = asyncio.run(main())
    assert pub.chunks >= 20 and queued >= 5, (pub.chunks, queued)
    assert kept >= 5
    assert sorted(r.column for r in recs) == list(range(len(header)))
    assert {r.rows for r in recs} == {3_000}
