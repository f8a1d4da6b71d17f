"""A multi-column file published into a worker comes back as one valid recommendation per column."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service_helpers import (
    Recommendations,
    assert_one_valid_per_column,
    in_process_worker,
    unique,
    wide_csv,
    worker_settings,
)

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.publish import publish_file


def test_one_recommendation_per_column(broker, aurora_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = wide_csv(path, rows=3000)
    settings = worker_settings(broker.url, aurora_home)

    async def main():
        async with in_process_worker(settings, broker.url):
            collector = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                dataset_id = unique("round-trip")
                pub = await publish_file(path, broker.bootstrap, dataset_id=dataset_id,
                                         user_id="tester", chunk_bytes=16 << 10)
                recs = await collector.wait(dataset_id, timeout=60)
            finally:
                await collector.stop()
            # every message of the dataset, read again from the start (redeliveries included)
            async with Recommendations(broker.bootstrap) as reader:
                await reader.until_columns(dataset_id, len(header), timeout=30, settle=1.5)
                messages = reader.messages[dataset_id]
            return pub, recs, messages

    pub, recs, messages = asyncio.run(main())
    assert pub.columns == header
    assert pub.chunks > 1
    assert_one_valid_per_column(recs, len(header))
    assert len(recs) == len(header)
    assert len(messages) == len(header), f"{len(messages)} messages for {len(header)} columns"
    assert {r.rows for r in recs} == {3000}
    assert all(r.dataset_id == pub.dataset_id and r.user_id == "tester" for r in recs)
