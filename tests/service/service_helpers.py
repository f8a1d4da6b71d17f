"""Helpers for the end-to-end service tests: workers (in-process and as processes), files, readers.

Everything here talks to the real broker; nothing is mocked. Processes started here belong to
the test that started them and are killed by pid (their own process group), never by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from aurora_stream.config import Settings
from aurora_stream.service.worker import Worker
from aurora_stream.vocab import is_valid
from aurora_stream.wire.records import Recommendation, decode

AURORA = str(Path(sys.executable).with_name("aurora"))
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def worker_settings(broker_url: str, home: Path, **overrides: object) -> Settings:
    """Settings for one test's worker: its own home and its own consumer group."""
    overrides.setdefault("app_id", unique("t-aurora"))
    return Settings.from_env(broker=broker_url, home=home, **overrides)


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings, broker_url: str) -> AsyncIterator[Worker]:
    """A started in-process worker, stopped on exit whatever happens."""
    worker = Worker(settings, broker_url)
    await worker.start(timeout=60)
    try:
        yield worker
    finally:
        await worker.stop()


def assert_one_valid_per_column(recs: Iterable[Recommendation], n_columns: int) -> None:
    """Exactly one recommendation per column position, each a valid (type, action, imputation)."""
    recs = list(recs)
    by_id = {r.recommendation_id: r for r in recs}
    assert len(by_id) == n_columns, f"{len(by_id)} distinct recommendations for {n_columns} columns"
    columns = sorted(r.column for r in by_id.values())
    assert columns == list(range(n_columns)), columns
    for r in by_id.values():
        assert r.n_columns == n_columns
        assert is_valid(r.feature_type, r.transformation, r.imputation), r
        assert 0.0 <= r.confidence <= 1.0


async def read_topic(bootstrap: str, topic: str, *, until, timeout: float,
                     from_start: bool = True) -> list:
    """Messages of ``topic`` (group-less, from the start) until ``until(messages)`` or timeout.

    Never relies on end offsets: it reads until the condition holds.
    """
    kafka = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest" if from_start else "latest",
                             fetch_max_bytes=16 << 20, max_partition_fetch_bytes=16 << 20)
    await kafka.start()
    out: list = []
    try:
        deadline = time.monotonic() + timeout
        while not until(out):
            if time.monotonic() > deadline:
                break
            batch = await kafka.getmany(timeout_ms=200, max_records=1000)
            for msgs in batch.values():
                out.extend(msgs)
    finally:
        await kafka.stop()
    return out


class Recommendations:
    """Every recommendation message of some datasets, read with a plain group-less consumer."""

    def __init__(self, bootstrap: str) -> None:
        self.kafka = AIOKafkaConsumer("aurora.recommendations", bootstrap_servers=bootstrap,
                                      group_id=None, auto_offset_reset="earliest")
        self.messages: dict[str, list[Recommendation]] = {}

    async def __aenter__(self) -> Recommendations:
        await self.kafka.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.kafka.stop()

    async def poll(self, timeout_ms: int = 200) -> int:
        batch = await self.kafka.getmany(timeout_ms=timeout_ms, max_records=2000)
        n = 0
        for msgs in batch.values():
            for m in msgs:
                rec = decode(Recommendation, m.value)
                self.messages.setdefault(rec.dataset_id, []).append(rec)
                n += 1
        return n

    def distinct(self, dataset_id: str) -> dict[str, Recommendation]:
        return {r.recommendation_id: r for r in self.messages.get(dataset_id, [])}

    async def until_columns(self, dataset_id: str, n_columns: int, timeout: float,
                            settle: float = 0.0) -> dict[str, Recommendation]:
        """Poll until every column has a recommendation, then ``settle`` more seconds."""
        deadline = time.monotonic() + timeout
        while len(self.distinct(dataset_id)) < n_columns and time.monotonic() < deadline:
            await self.poll()
        end = time.monotonic() + settle
        while time.monotonic() < end:
            await self.poll()
        return self.distinct(dataset_id)


def wide_csv(path: Path, *, rows: int, seed: int = 7) -> list[str]:
    """A deterministic CSV with 10 columns of different kinds; returns its header."""
    rng = random.Random(seed)
    header = ["row_id", "amount", "qty", "country", "created", "comment", "score", "flag",
              "code", "ratio"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    for i in range(rows):
        w.writerow([
            i, f"{rng.lognormvariate(3, 1):.2f}", rng.randint(1, 20),
            rng.choice(["DE", "FR", "ES", "IT", "PT"]),
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))),
            f"{rng.gauss(50, 10):.3f}", rng.choice(["yes", "no"]), f"{rng.randint(0, 9999):04d}",
            f"{rng.random():.4f}",
        ])
    path.write_text(buf.getvalue())
    return header


@dataclass
class WorkerProcess:
    """``aurora worker --broker URL`` as a child process in its own process group."""

    broker_url: str
    home: Path
    app_id: str
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self) -> WorkerProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home.parent / f"{self.home.name}-worker-{time.time_ns()}.log"
        env = {**os.environ, "AURORA_HOME": str(self.home), "AURORA_APP_ID": self.app_id,
               "AURORA_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
               "AURORA_BROKER_KIND": "tansu", **self.extra_env}
        env.pop("AURORA_BROKER", None)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [AURORA, "worker", "--broker", self.broker_url], stdout=log, stderr=log,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True, cwd=REPO)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until the worker says it is ready (partitions assigned)."""
        deadline = time.monotonic() + timeout
        while "ready: broker" not in self.log():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (a crash: nothing is flushed)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (clean leave), then SIGKILL if it does not exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def json_lines(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
