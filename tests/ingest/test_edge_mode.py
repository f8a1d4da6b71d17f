"""Edge mode: sketching on the publisher gives the same recommendations as raw mode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.publish import new_dataset_id, publish_file
from aurora_stream.config import Settings
from aurora_stream.service.worker import Worker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.timeout(180)
def test_edge_mode_recommends_exactly_what_raw_mode_does(broker, aurora_home) -> None:
    settings = Settings.from_env(broker=broker.url, home=aurora_home, app_id="edge-vs-raw")
    csv = EXAMPLES / "clean.csv"

    async def scenario() -> tuple[list, list]:
        worker = await Worker(settings, broker.url).start()
        try:
            collector = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                out = []
                for edge in (False, True):
                    ds = new_dataset_id("edge" if edge else "raw")
                    pub = await publish_file(csv, broker.bootstrap, dataset_id=ds,
                                             user_id=f"edge-user-{edge}", edge=edge,
                                             chunk_bytes=8192)  # two users: no cache hit
                    assert pub.chunks > 1  # several chunks, merged by the profile agent
                    out.append(await collector.wait(ds, timeout=90, with_rejected=not edge))
                return out[0], out[1]
            finally:
                await collector.stop()
        finally:
            await worker.stop()

    raw, edge = asyncio.run(scenario())
    key = lambda r: (r.column, r.feature_type, r.transformation, r.imputation,  # noqa: E731
                     round(r.confidence, 6), r.layer, r.fingerprint_key, r.rows)
    assert [key(r) for r in raw] == [key(r) for r in edge]
    assert len(raw) == len((EXAMPLES / "clean.csv").read_text().splitlines()[0].split(","))
