"""aurora_consumer_lag shows a real backlog and drains to 0: a file published as hundreds of
small chunks is read faster than it is parsed (the worker pauses fetching past 16 buffered
events, so the ListOffsets readings of service/health.py are part of what is seen)."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
import uuid
from pathlib import Path

from aurora_stream.client.publish import publish_file
from aurora_stream.config import Settings
from aurora_stream.service.ports import free_port
from aurora_stream.service.worker import Worker

LAG = re.compile(r'^aurora_consumer_lag\{[^}]*topic="aurora\.csv-chunks"[^}]*\} (\S+)$', re.M)


def _lag(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(v) for v in LAG.findall(text))


def test_lag_rises_with_a_backlog_and_drains(broker, aurora_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "many-chunks.csv"
    with open(path, "w") as f:
        f.write("id,amount,code,day\n")
        for i in range(30000):
            f.write(f"{i},{i * 1.5},x{i % 50},2024-01-{i % 28 + 1:02d}\n")
    port = free_port()
    settings = Settings.from_env(broker=broker.url, home=aurora_home, metrics_port=port,
                                 app_id=f"t-lag-{uuid.uuid4().hex[:8]}")

    async def main() -> list[float]:
        worker = await Worker(settings, broker.url).start(timeout=60)
        try:
            published = asyncio.ensure_future(publish_file(
                path, broker.bootstrap, dataset_id=f"lag-{uuid.uuid4().hex[:8]}",
                user_id="lag", chunk_bytes=4096))
            seen: list[float] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen.append(await asyncio.to_thread(_lag, port))
                if published.done() and seen[-1] == 0 and max(seen) > 0:
                    break
                await asyncio.sleep(0.25)
            pub = await published
            assert pub.chunks >= 200, pub.chunks
            return seen
        finally:
            await worker.stop()

    seen = asyncio.run(main())
    assert max(seen) >= 20, f"no backlog seen: {seen}"
    assert seen[-1] == 0, f"lag did not drain: {seen[-10:]}"
