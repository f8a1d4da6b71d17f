"""A real Prometheus scrapes a live worker; every Grafana panel query returns data.

The worker runs in-process against the session's Tansu broker with its health server on a
loopback port; Prometheus runs with deploy/prometheus.yml (targets replaced by that port,
1 s scrapes). A file goes through, one invalid event is dead-lettered, one correction is
learned; then every query of deploy/grafana/dashboards/aurora.json is evaluated through
Prometheus' HTTP API and must return at least one finite sample. The endpoint must carry no
user or dataset id, and only the bounded label names of service/metrics.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer
from deploy_helpers import (
    JOB,
    dockerfile_healthcheck,
    finite,
    panel_queries,
    running_prometheus,
    scrape_config_for,
)

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.feedback import correction_for, send_and_wait
from aurora_stream.client.publish import publish_file
from aurora_stream.config import Settings
from aurora_stream.service.ports import free_port
from aurora_stream.service.worker import Worker
from aurora_stream.wire.topics import CSV_CHUNKS

REPO = Path(__file__).resolve().parents[2]
ALLOWED_LABELS = {"__name__", "job", "instance", "layer", "stage", "le", "outcome", "source",
                  "reason", "kind", "group", "topic", "partition", "tag", "version"}


def _http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_every_dashboard_query_returns_data(broker, aurora_home: Path, tmp_path: Path) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    dataset = f"ds-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = Settings.from_env(broker=broker.url, home=aurora_home, metrics_port=port,
                                 app_id=f"t-prom-{uuid.uuid4().hex[:8]}")
    config = scrape_config_for(f"127.0.0.1:{port}")
    report: dict = {}

    async def main() -> None:
        worker = Worker(settings, broker.url)
        await worker.start(timeout=60)
        try:
            with running_prometheus(config, tmp_path) as prom:
                up = f'up{{job="{JOB}"}}'
                # scraped before any work, so rates and histograms have a baseline sample
                await asyncio.to_thread(prom.wait_for, f"count_over_time({up}[1m]) >= 2", 60)
                assert (await asyncio.to_thread(_http, f"http://127.0.0.1:{port}/healthz"))[0] \
                    == 200
                assert (await asyncio.to_thread(_http, f"http://127.0.0.1:{port}/readyz"))[0] \
                    == 200
                # the image's HEALTHCHECK command, as Docker would run it, against this worker
                argv = dockerfile_healthcheck()
                argv[0] = sys.executable if argv[0] == "python" else argv[0]
                check = await asyncio.to_thread(
                    subprocess.run, argv, env={**os.environ, "AURORA_METRICS_PORT": str(port)},
                    capture_output=True, timeout=30)
                assert check.returncode == 0, check.stderr

                collector = await ResultCollector(broker.bootstrap, from_start=False).start()
                try:
                    await publish_file(REPO / "examples" / "messy.csv", broker.bootstrap,
                                       dataset_id=dataset, user_id=user)
                    recs = await collector.wait(dataset, timeout=60)
                finally:
                    await collector.stop()
                kafka = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
                await kafka.start()
                try:  # one invalid event: a dead letter of the parse stage
                    await kafka.send_and_wait(CSV_CHUNKS, b"this is not an event",
                                              key=dataset.encode())
                finally:
                    await kafka.stop()
                rec = recs[0]
                other = "categorical" if rec.feature_type != "categorical" else "numeric"
                done, _ = await send_and_wait(
                    broker.bootstrap, [correction_for(rec, accepted=False, feature_type=other)],
                    timeout=60)
                assert done

                await asyncio.to_thread(
                    prom.wait_for,
                    'sum(aurora_dead_letters_total{source="parse",reason="invalid_event"})', 30,
                    lambda v: bool(v) and v[0] >= 1)
                await asyncio.to_thread(prom.wait_for,
                                        'sum(aurora_corrections_total{outcome="applied"})', 30,
                                        lambda v: bool(v) and v[0] >= 1)
                await asyncio.sleep(3)  # a few more scrapes after the last work

                empty = []
                for title, expr in panel_queries():
                    values = await asyncio.to_thread(prom.values, expr)
                    report[expr] = values
                    if not finite(values):
                        empty.append(f"{title}: {expr} -> {values}")
                assert not empty, "panel queries without data:\n" + "\n".join(empty)

                stages = await asyncio.to_thread(
                    prom.values, "sum by (stage) (aurora_stage_seconds_count) > 0")
                assert len(stages) == 4, stages  # parse, profile, recommend and learn observed
                labels = set((await asyncio.to_thread(prom.get, "/api/v1/labels"))["data"])
                assert labels <= ALLOWED_LABELS, labels - ALLOWED_LABELS

                # end offsets from ListOffsets (every 5 s) are part of the lag readings
                assert worker.runtime.metrics._worker_collector.end_offsets
                _, text = await asyncio.to_thread(_http, f"http://127.0.0.1:{port}/metrics")
                assert "aurora_consumer_lag" in text
                for secret in (user, dataset, rec.recommendation_id):
                    assert secret not in text, f"{secret} leaks into /metrics"
        finally:
            await worker.stop()

    asyncio.run(main())
    for expr, values in report.items():  # shown with pytest -s
        print(f"{len(values):3d} series  {[round(v, 4) for v in values][:6]}  {expr}")
