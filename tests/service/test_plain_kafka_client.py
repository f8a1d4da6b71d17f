"""A third party publishes with a plain Kafka client and hand-built JSON (schemas/csv-chunk.v1.json)
and reads recommendations with a plain consumer: no project code on either side."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from service_helpers import in_process_worker, worker_settings

from aurora_stream.identity import credential_for, token_headers
from aurora_stream.vocab import is_valid  # the vocabulary a consumer checks against

HEADER = "sku,price,units,colour,sold_on,description"
COLOURS = ["red", "green", "blue", "black"]


def _records(n: int) -> list[str]:
    return [
        f"SKU-{i:05d},{(i * 37) % 500 + 0.99:.2f},{i % 13},{COLOURS[i % 4]},"
        f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d},\"a {COLOURS[(i + 1) % 4]} thing, size {i % 5}\""
        for i in range(n)
    ]


def _chunk(dataset_id: str, seq: int, last: bool, first_line: int, data: str,
           columns: list[str] | None) -> bytes:
    event = {"v": 1, "dataset_id": dataset_id, "user_id": "partner", "seq": seq, "last": last,
             "first_line": first_line, "data": data}
    if columns is not None:
        event["columns"] = columns
    return json.dumps(event).encode("utf-8")


def _whole_file(dataset_id: str, records: list[str]) -> list[bytes]:
    return [_chunk(dataset_id, 0, True, 1, "\n".join([HEADER, *records]) + "\n", None)]


def _several_chunks(dataset_id: str, records: list[str], size: int = 150) -> list[bytes]:
    columns = HEADER.split(",")
    parts = [records[i:i + size] for i in range(0, len(records), size)]
    return [
        _chunk(dataset_id, seq, seq == len(parts) - 1, 2 + seq * size, "\n".join(p) + "\n",
               columns)
        for seq, p in enumerate(parts)
    ]


@pytest.mark.parametrize("shape", [_whole_file, _several_chunks], ids=["one-chunk", "chunks"])
def test_plain_client_round_trip(broker, aurora_home: Path, shape) -> None:
    records = _records(700)
    dataset_id = f"partner-{uuid.uuid4().hex[:10]}"
    settings = worker_settings(broker.url, aurora_home)

    async def main() -> list[dict]:
        async with in_process_worker(settings, broker.url):
            consumer = AIOKafkaConsumer("aurora.recommendations",
                                        bootstrap_servers=broker.bootstrap, group_id=None,
                                        auto_offset_reset="earliest")
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            await consumer.start()
            await producer.start()
            try:
                signed = token_headers(credential_for(settings, "partner", issue=True))
                for value in shape(dataset_id, records):
                    await producer.send_and_wait("aurora.csv-chunks", value,
                                                 key=dataset_id.encode(), headers=signed)
                got: list[dict] = []
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    batch = await consumer.getmany(timeout_ms=200)
                    for msgs in batch.values():
                        got += [r for m in msgs
                                if (r := json.loads(m.value))["dataset_id"] == dataset_id]
                    if len({r["recommendation_id"] for r in got}) >= 6:
                        break
                return got
            finally:
                await producer.stop()
                await consumer.stop()

    got = asyncio.run(main())
    distinct = {r["recommendation_id"]: r for r in got}
    assert sorted(r["column"] for r in distinct.values()) == list(range(6)), got
    for r in distinct.values():
        assert r["n_columns"] == 6 and r["rows"] == 700 and r["rows_rejected"] == 0
        assert is_valid(r["feature_type"], r["transformation"], r["imputation"]), r
        assert r["reason"] and 0 <= r["confidence"] <= 1
