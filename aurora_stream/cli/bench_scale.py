"""``aurora bench scale``: one worker against two on the same files, and how fast a
correction reaches the user's next recommendation in a cluster that shares state.

Real parts only: the embedded broker (Tansu), a real ``redis-server`` for the shared user
state, and ``aurora worker`` processes (each with its own AURORA_HOME), fed by the same
publisher. Figures are ratios against the one-worker run of the same files in the same
run, plus CPU seconds per MB summed over the worker processes (this machine has two cores,
shared with the broker and the publisher, so wall time alone says little).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aurora_stream.cli.bench import generate_csv, percentile

AURORA = str(Path(sys.executable).with_name("aurora"))


@dataclass
class ScaleFigures:
    mb: float
    files: int
    wall: dict[int, float] = field(default_factory=dict)  # workers -> seconds for all files
    cpu: dict[int, float] = field(default_factory=dict)  # workers -> CPU seconds (workers)
    latencies: list[float] = field(default_factory=list)  # correction -> changed rec, s
    applied: list[float] = field(default_factory=list)  # correction -> applied and durable, s


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its finished children (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class _Worker:
    def __init__(self, broker_url: str, home: Path, env: dict[str, str]) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "worker.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([AURORA, "worker", "--broker", broker_url],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         env={**os.environ, "AURORA_HOME": str(home), **env},
                                         start_new_session=True)

    async def ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while "ready: broker" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.1)

    def cpu(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@contextlib.contextmanager
def _redis(workdir: Path):
    from aurora_stream.service.ports import free_port, wait_for_port

    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


async def _cluster(n: int, broker_url: str, root: Path, redis_url: str) -> list[_Worker]:
    env = {"AURORA_APP_ID": f"bench-scale-{uuid.uuid4().hex[:6]}", "AURORA_REDIS_URL": redis_url,
           "AURORA_STATE_KEY": secrets.token_hex(32), "AURORA_BROKER_KIND": "tansu",
           "AURORA_LOG_LEVEL": "WARNING", "AURORA_EPSILON_PER_DAY": "0"}
    workers = [_Worker(broker_url, root / f"w{i}", env) for i in range(n)]
    for w in workers:
        await w.ready()
    await asyncio.sleep(2.0)  # the last rebalance settles
    return workers


async def _throughput(bootstrap: str, files: list[Path]) -> float:
    """Seconds to publish every file (each its own user and dataset) and receive every
    recommendation."""
    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.publish import new_dataset_id, publish_file

    collector = await ResultCollector(bootstrap, from_start=False).start()
    try:
        t0 = time.perf_counter()
        ids = []
        for i, f in enumerate(files):
            ds = new_dataset_id(f"scale{i}")
            await publish_file(f, bootstrap, dataset_id=ds, user_id=f"user{i}")
            ids.append(ds)
        for ds in ids:
            await collector.wait(ds, timeout=900)
        return time.perf_counter() - t0
    finally:
        await collector.stop()


async def _correction_latency(bootstrap: str, probe: Path, n: int,
                              on_step: Callable[[], None]) -> tuple[list[float], list[float]]:
    """Correction sent -> applied and durable (its learn event), and -> the user's next
    recommendation carries the new model version (probe files sketched at the edge)."""
    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.feedback import FeedbackClient, correction_for
    from aurora_stream.client.publish import new_dataset_id, publish_file

    user = f"lat-{uuid.uuid4().hex[:6]}"
    collector = await ResultCollector(bootstrap, from_start=False).start()
    feedback = await FeedbackClient(bootstrap).start()
    lats, applied = [], []
    try:
        ds = new_dataset_id("lat")
        await publish_file(probe, bootstrap, dataset_id=ds, user_id=user, edge=True)
        rec = (await collector.wait(ds, timeout=60))[0]
        for i in range(n):
            c = correction_for(rec, accepted=False,
                               imputation=("mean", "median", "mode", "constant")[i % 4])
            t0 = time.perf_counter()
            await feedback.send_and_wait([c], timeout=60)  # signed with her credential
            applied.append(time.perf_counter() - t0)
            want = f"user:{user}@v{i + 1}+"
            while True:
                ds = new_dataset_id("lat")
                await publish_file(probe, bootstrap, dataset_id=ds, user_id=user, edge=True)
                got = (await collector.wait(ds, timeout=60))[0]
                if got.model_version.startswith(want):
                    break
            lats.append(time.perf_counter() - t0)
            rec = got
            on_step()
    finally:
        await feedback.stop()
        await collector.stop()
    return lats, applied


def run_scale_bench(files: int = 8, mb_each: float = 2.0, corrections: int = 20,
                    on_step: Callable[[str], None] | None = None) -> ScaleFigures:
    """The whole bench (see the module docstring)."""
    from aurora_stream.service.broker import EmbeddedBroker

    say = on_step or (lambda _msg: None)
    figs = ScaleFigures(mb=files * mb_each, files=files)
    with tempfile.TemporaryDirectory(prefix="aurora-bench-scale-") as tmp:
        root = Path(tmp)
        # one issuer for the publisher (this process) and every worker: they have homes of
        # their own, as on several machines sharing a registry
        os.environ.setdefault("AURORA_IDENTITY_DIR", str(root / "identity"))
        paths = [generate_csv(root / f"f{i}.csv", mb_each, seed=i) for i in range(files)]
        probe = root / "probe.csv"
        probe.write_text("qty\n" + "".join(f"{i % 9}\n" for i in range(50)))
        figs.mb = sum(p.stat().st_size for p in paths) / 1e6
        with _redis(root) as redis_url:
            for n in (1, 2):
                say(f"{n} worker(s): {files} files, {figs.mb:.0f} MB")
                # a broker of its own per cluster: a new consumer group starts at the
                # earliest offsets and would replay the other run's files first
                with EmbeddedBroker(log_path=root / f"broker{n}.log") as broker:
                    _measure(n, broker, root, redis_url, paths, probe, corrections, figs, say)
    return figs


def _measure(n: int, broker, root: Path, redis_url: str, paths: list[Path], probe: Path,
             corrections: int, figs: ScaleFigures, say: Callable[[str], None]) -> None:
    """One cluster of ``n`` workers on its own broker: throughput, then (n == 2) latency."""
    workers = asyncio.run(_cluster(n, broker.url, root / f"c{n}", redis_url))
    try:
        cpu0 = [w.cpu() for w in workers]
        figs.wall[n] = asyncio.run(_throughput(broker.bootstrap, paths))
        figs.cpu[n] = sum(w.cpu() - c for w, c in zip(workers, cpu0, strict=True))
        if n == 2:
            say(f"correction -> next recommendation, {corrections} times")
            figs.latencies, figs.applied = asyncio.run(_correction_latency(
                broker.bootstrap, probe, corrections, lambda: say("step")))
    finally:
        for w in workers:
            w.stop()


def scale_rows(f: ScaleFigures) -> list[tuple[str, str]]:
    rows = [("files x size", f"{f.files} files, {f.mb:.1f} MB in all")]
    for n in sorted(f.wall):
        rows.append((f"{n} worker(s): wall", f"{f.wall[n]:.1f} s ({f.mb / f.wall[n]:.1f} MB/s)"))
        rows.append((f"{n} worker(s): CPU s per MB (worker processes)", f"{f.cpu[n] / f.mb:.2f}"))
    if 1 in f.wall and 2 in f.wall:
        rows.append(("speed-up, 2 workers / 1 worker (wall)", f"{f.wall[1] / f.wall[2]:.2f}x"))
    if f.applied:
        rows.append(("correction -> applied and durable (learn event), p50 / p95",
                     f"{percentile(f.applied, 50) * 1000:.0f} / "
                     f"{percentile(f.applied, 95) * 1000:.0f} ms"))
    if f.latencies:
        rows.append(("correction -> changed recommendation, p50",
                     f"{percentile(f.latencies, 50) * 1000:.0f} ms"))
        rows.append(("correction -> changed recommendation, p95",
                     f"{percentile(f.latencies, 95) * 1000:.0f} ms (target < 200 ms)"))
        rows.append(("  mean / n", f"{statistics.mean(f.latencies) * 1000:.0f} ms / "
                                   f"{len(f.latencies)}"))
    return rows
