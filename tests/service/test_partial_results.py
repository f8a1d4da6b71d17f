"""One refused column never loses a file: the other columns are answered and the refused one
is named with its reason (real broker, real in-process worker). The refusal is caused with a
crafted column-chunk (an edge-mode chunk saying it is the last, seq 3, before the real ones):
a plain CSV file cannot make the profile stage refuse one column."""

from __future__ import annotations

import asyncio
import base64

import orjson
import polars as pl
import pytest
from aiokafka import AIOKafkaProducer
from service_helpers import in_process_worker, unique, worker_settings

from aurora_stream.client.consume import ResultCollector
from aurora_stream.identity import credential_for, token_headers
from aurora_stream.profile.sketch import sketch_frame

CSV = "id,name,price\n" + "".join(f"{i},n{i % 7},{i * 1.5}\n" for i in range(50))


def _crafted(ds: str, column: int) -> bytes:
    sketch = sketch_frame(pl.DataFrame({"0": [f"v{i}" for i in range(30)]}))[0].to_bytes()
    return orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "column": column,
                         "n_columns": 3, "seq": 3, "last": True,
                         "sketch": base64.b64encode(sketch).decode(), "flags": [],
                         "rows_in": 30, "rows_rejected": 0, "mode": "edge"})


@pytest.mark.timeout(120)
def test_a_refused_column_leaves_the_others_answered(broker, aurora_home) -> None:
    settings = worker_settings(broker.url, aurora_home)
    signed = token_headers(credential_for(settings, "ana", issue=True))
    ds = unique("partial")
    chunk = orjson.dumps({"v": 1, "dataset_id": ds, "user_id": "ana", "seq": 0, "last": True,
                          "first_line": 1, "data": CSV})

    async def main():
        async with in_process_worker(settings, broker.url):
            col = await ResultCollector(broker.bootstrap, from_start=True).start()
            p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
            await p.start()
            try:
                await p.send_and_wait("aurora.column-chunks", _crafted(ds, 1),
                                      key=f"{ds}:1".encode(), headers=signed)
                await p.send_and_wait("aurora.csv-chunks", chunk, key=ds.encode(),
                                      headers=signed)
                recs = await col.wait(ds, timeout=60, n_columns=3)
                return recs, col.refused(ds)
            finally:
                await p.stop()
                await col.stop()

    recs, refused = asyncio.run(main())
    assert sorted(r.column for r in recs) == [0, 2]
    assert list(refused) == [1] and "last" in refused[1], refused
