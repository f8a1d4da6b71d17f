"""Two worker processes in one consumer group share the partitions; every column of a
multi-chunk file still gets exactly one recommendation (deduplicated by id)."""

from __future__ import annotations

import asyncio
import re
import urllib.request
import warnings
from pathlib import Path

import pytest
from service_helpers import (
    Recommendations,
    WorkerProcess,
    assert_one_valid_per_column,
    unique,
    wide_csv,
)

from aurora_stream.client.publish import publish_file
from aurora_stream.service.ports import free_port


def _profiled(port: int) -> float:
    """How many column sketches this worker merged (its Prometheus counter). Profiling is
    spread by dataset and column; parsing by dataset (one file, one partition) and
    recommending by user (one user, one worker: the one that owns her learned state)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(v) for v in re.findall(r"^aurora_column_chunks_total (\S+)$", text, re.M))


@pytest.mark.timeout(180)
def test_two_workers_share_partitions_and_lose_nothing(broker, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    header = wide_csv(path, rows=2000)
    assert 150_000 < path.stat().st_size < 300_000
    app_id = unique("t-two")
    ports = [free_port(), free_port()]
    workers = [WorkerProcess(broker.url, tmp_path / f"home{i}", app_id,
                             extra_env={"AURORA_METRICS_PORT": str(port)})
               for i, port in enumerate(ports)]

    async def main():
        for w in workers:
            w.start()
        for w in workers:
            await w.ready()
        await asyncio.sleep(1.0)  # the second join's rebalance settles
        async with Recommendations(broker.bootstrap) as reader:
            dataset_id = unique("two-workers")
            pub = await publish_file(path, broker.bootstrap, dataset_id=dataset_id,
                                     user_id="tester", chunk_bytes=4096)
            got = await reader.until_columns(dataset_id, len(header), timeout=90, settle=2.0)
            return pub, got, reader.messages.get(dataset_id, [])

    try:
        pub, got, messages = asyncio.run(main())
        per_worker = [_profiled(p) for p in ports]
        alive = [w.proc.poll() is None for w in workers]
    finally:
        for w in workers:
            w.stop()
    assert pub.chunks >= 40
    assert all(alive), [w.log()[-2000:] for w in workers]
    assert_one_valid_per_column(got.values(), len(header))
    assert {r.rows for r in got.values()} == {2000}
    duplicates = len(messages) - len(got)
    if duplicates:  # allowed (at-least-once), but worth seeing in the test report
        warnings.warn(f"{duplicates} duplicate recommendation messages", stacklevel=1)
    assert all(n > 0 for n in per_worker), f"column sketches merged per worker: {per_worker}"
