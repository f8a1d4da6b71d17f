"""Invalid events become dead letters (reason + source topic/partition/offset) and the worker
goes on: the next good file is still recommended."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from service_helpers import (
    EXAMPLES,
    assert_one_valid_per_column,
    in_process_worker,
    read_topic,
    unique,
    worker_settings,
)

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.publish import publish_file
from aurora_stream.identity import credential_for, token_headers
from aurora_stream.wire.records import DeadLetter, decode

CSV_CHUNKS = "aurora.csv-chunks"
COLUMN_CHUNKS = "aurora.column-chunks"


def _csv_chunk(dataset_id: str, **fields) -> bytes:
    event = {"v": 1, "dataset_id": dataset_id, "user_id": "tester", "seq": 0, "last": True,
             "first_line": 2, "data": "1,2\n", "columns": ["a", "b"]}
    return orjson.dumps({**event, **fields})


def _column_chunk(dataset_id: str, sketch: str) -> bytes:
    return orjson.dumps({
        "v": 1, "dataset_id": dataset_id, "user_id": "tester", "column": 0, "n_columns": 1,
        "seq": 0, "last": True, "sketch": sketch, "flags": [], "rows_in": 1,
        "rows_rejected": 0, "mode": "edge",
    })


def test_invalid_events_are_dead_lettered_and_the_next_file_still_runs(
        broker, aurora_home: Path) -> None:
    settings = worker_settings(broker.url, aurora_home)
    ds = unique("dead")
    bad = {
        "not json": (CSV_CHUNKS, b"\x00\xffthis is not JSON{"),
        "schema": (CSV_CHUNKS, _csv_chunk(ds, seq=-1, data=7)),
        "no columns": (CSV_CHUNKS, _csv_chunk(ds, seq=3, columns=None, last=False)),
        "garbage sketch": (COLUMN_CHUNKS, _column_chunk(
            ds, base64.b64encode(b"definitely not a column sketch" * 3).decode())),
    }

    async def main():
        async with in_process_worker(settings, broker.url):
            kafka = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            await kafka.start()
            try:
                sent = {}
                signed = token_headers(credential_for(settings, "tester", issue=True))
                for name, (topic, value) in bad.items():
                    md = await kafka.send_and_wait(topic, value, key=ds.encode(),
                                                   headers=signed)
                    sent[(md.topic, md.partition, md.offset)] = name
                md = await kafka.send_and_wait(CSV_CHUNKS, _csv_chunk(ds), key=ds.encode())
                sent[(md.topic, md.partition, md.offset)] = "unsigned"
            finally:
                await kafka.stop()

            def ours(msgs):
                return {k: decode(DeadLetter, m.value) for m in msgs
                        if (k := _source(m.value)) in sent}

            letters = ours(await read_topic(broker.bootstrap, "aurora.dead-letter",
                                            until=lambda ms: len(ours(ms)) >= len(sent),
                                            timeout=45))
            collector = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                good = unique("after-dead")
                pub = await publish_file(EXAMPLES / "clean.csv", broker.bootstrap,
                                         dataset_id=good, user_id="tester")
                recs = await collector.wait(good, timeout=60)
            finally:
                await collector.stop()
            return sent, letters, pub, recs

    sent, letters, pub, recs = asyncio.run(main())
    missing = [sent[k] for k in sent if k not in letters]
    assert not missing, f"no dead letter for: {missing}"
    for key, letter in letters.items():
        name = sent[key]
        assert letter.reason, name
        assert (letter.source_topic, letter.source_partition, letter.source_offset) == key
        if letter.source_topic == CSV_CHUNKS:  # raw topic: the event itself is never copied
            assert letter.event is None, name
        else:
            assert letter.event is not None and ds in letter.event, name
    reasons = {sent[k]: letters[k].reason for k in letters}
    assert "not JSON" in reasons["not json"]
    assert "csv-chunk schema" in reasons["schema"]
    assert "columns" in reasons["no columns"] and "seq 0" in reasons["no columns"]
    assert "unauthenticated" in reasons["unsigned"] and "aurora-token" in reasons["unsigned"]
    assert_one_valid_per_column(recs, len(pub.columns))


def _source(value: bytes) -> tuple[str, int, int] | None:
    obj = orjson.loads(value)
    return obj.get("source_topic"), obj.get("source_partition"), obj.get("source_offset")
