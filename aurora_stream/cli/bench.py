"""``aurora bench pipeline``: end-to-end throughput, latency and cold start, with baselines.

Every figure is reported next to a baseline measured in the same run on the same file
(``polars.read_csv``), because this machine is shared and absolute numbers drift.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from aurora_stream.config import Settings


def generate_csv(path: Path, megabytes: float, seed: int = 0) -> Path:
    """A realistic mixed CSV of about ``megabytes`` MB, written in blocks (bounded memory)."""
    rng = np.random.default_rng(seed)
    rows_per_block = 50_000
    cities = np.array(["Oslo", "Lima", "Kyoto", "Porto", "Quito", "Graz", "Accra", "Hanoi"])
    words = np.array("the a quick brown fox jumps over lazy dog data stream column value "
                     "order late again fine broken box great".split())
    written, block, start = 0, 0, 0
    with open(path, "wb") as f:
        while written < megabytes * 1e6:
            n = rows_per_block
            text = [" ".join(rng.choice(words, size=k)) for k in rng.integers(3, 12, size=n)]
            df = pl.DataFrame({
                "order_id": np.arange(start, start + n),
                "amount": np.round(rng.lognormal(3, 1, size=n), 2),
                "quantity": rng.integers(1, 20, size=n),
                "city": rng.choice(cities, size=n),
                "order_date": (np.datetime64("2024-01-01") + rng.integers(0, 700, size=n)
                               ).astype(str),
                "rating": pl.Series(rng.integers(1, 6, size=n)).set(
                    pl.Series(rng.random(n) < 0.1), None),
                "comment": text,
                "zip": [f"{z:05d}" for z in rng.integers(0, 99999, size=n)],
            })
            buf = df.write_csv(include_header=block == 0).encode()
            f.write(buf)
            written += len(buf)
            start += n
            block += 1
    return path


def generate_wide_csv(path: Path, columns: int = 400, rows: int = 100, seed: int = 2) -> Path:
    """Many small columns: measures the profile and recommend agents, not parsing."""
    rng = np.random.default_rng(seed)
    data = {f"c{i}": rng.integers(0, 50, size=rows) if i % 2 else rng.normal(size=rows)
            for i in range(columns)}
    pl.DataFrame(data).write_csv(path)
    return path


@dataclass
class PipelineFigures:
    file_mb: float
    polars_mb_s: float
    pipeline_mb_s: float
    latencies: list[float]
    cold_starts: list[float]
    recs_per_second: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.pipeline_mb_s / self.polars_mb_s


def polars_baseline(path: Path) -> float:
    """MB/s of polars.read_csv on the same file (all columns as strings, like the parser)."""
    t0 = time.perf_counter()
    pl.read_csv(path, infer_schema=False)
    return path.stat().st_size / 1e6 / (time.perf_counter() - t0)


async def _through_pipeline(settings: Settings, files: list[Path]) -> tuple[list[float],
                                                                           list[float]]:
    """Per file: wall seconds from first publish to last recommendation, and the latency from
    the last chunk published to the last recommendation received."""
    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.publish import new_dataset_id, publish_file
    from aurora_stream.service.worker import running_stack

    walls, lats = [], []
    async with running_stack(settings) as (bootstrap, _):
        collector = await ResultCollector(bootstrap, from_start=False).start()
        try:
            for path in files:
                ds = new_dataset_id("bench")
                t0 = time.perf_counter()
                await publish_file(path, bootstrap, dataset_id=ds, user_id="bench",
                                   chunk_bytes=settings.chunk_bytes)
                t_last = time.perf_counter()
                await collector.wait(ds, timeout=1800)
                t_end = time.perf_counter()
                walls.append(t_end - t0)
                lats.append(t_end - t_last)
        finally:
            await collector.stop()
    return walls, lats


def cold_start(path: Path, home: Path) -> float:
    """Seconds from process start to exit of ``aurora run FILE --json``."""
    env = {**os.environ, "AURORA_HOME": str(home)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aurora_stream.cli.main", "run", str(path),
                    "--json"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_pipeline_bench(megabytes: float = 100.0, latency_runs: int = 5,
                       cold_runs: int = 3, workdir: Path | None = None,
                       progress: object | None = None) -> PipelineFigures:
    """Generate files, measure the baseline and the pipeline in the same run."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmpdir = Path(tmp)
        big = generate_csv(tmpdir / "big.csv", megabytes)
        small = generate_csv(tmpdir / "small.csv", 1.0, seed=1)
        wide = generate_wide_csv(tmpdir / "wide.csv")
        home = tmpdir / "home"
        settings = Settings.from_env(home=home, broker=None, redis_url=None)
        baseline = max(polars_baseline(big) for _ in range(2))
        walls, _ = asyncio.run(_through_pipeline(settings, [big]))
        _, lats = asyncio.run(_through_pipeline(settings, [small] * latency_runs))
        wide_walls, _ = asyncio.run(_through_pipeline(settings, [wide]))
        colds = [cold_start(small, home) for _ in range(cold_runs)]
        return PipelineFigures(
            file_mb=big.stat().st_size / 1e6, polars_mb_s=baseline,
            pipeline_mb_s=big.stat().st_size / 1e6 / walls[0], latencies=lats,
            cold_starts=colds, recs_per_second=400 / wide_walls[0])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summary_rows(f: PipelineFigures) -> list[tuple[str, str]]:
    return [
        ("file", f"{f.file_mb:.1f} MB"),
        ("polars.read_csv (baseline)", f"{f.polars_mb_s:.1f} MB/s"),
        ("pipeline end to end", f"{f.pipeline_mb_s:.1f} MB/s"),
        ("ratio pipeline / polars", f"{f.ratio:.3f}"),
        ("latency last chunk -> last rec, p50", f"{percentile(f.latencies, 50) * 1000:.0f} ms"),
        ("latency last chunk -> last rec, p95", f"{percentile(f.latencies, 95) * 1000:.0f} ms"),
        ("recommendations/s, one worker (400-column file)", f"{f.recs_per_second:.0f}"),
        ("cold start aurora run 1 MB, median",
         f"{statistics.median(f.cold_starts):.2f} s (runs: "
         + ", ".join(f"{c:.2f}" for c in f.cold_starts) + ")"),
    ]


def _hwm_mib(pid: int) -> float | None:
    """VmHWM (peak RSS since exec) of a live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def peak_rss_of_run(path: Path, home: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one ``aurora run FILE`` process (publisher and worker
    share that process in the embedded mode; the broker is a separate process).

    The peak is the kernel's VmHWM of the process after exec, polled until it exits:
    ``wait4``'s ru_maxrss also counts the parent's pages the child shares before exec, which
    made the figure grow with the memory the bench itself used to generate the file.
    """
    env = {**os.environ, "AURORA_HOME": str(home)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aurora_stream.cli.main", "run",
                             str(path), "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        hwm = _hwm_mib(proc.pid)
        if hwm is not None:
            peak = max(peak, hwm)
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"aurora run exited {proc.returncode} on {path}")
    return time.perf_counter() - t0, peak


def run_memory_bench(sizes_mb: list[float], workdir: Path | None = None
                     ) -> list[tuple[float, float, float]]:
    """(file MB, seconds, peak RSS MiB) per size: flat RSS means bounded memory."""
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for mb in sizes_mb:
            path = generate_csv(Path(tmp) / f"f{mb:.0f}.csv", mb)
            secs, rss = peak_rss_of_run(path, Path(tmp) / "home")
            rows.append((path.stat().st_size / 1e6, secs, rss))
            path.unlink()
    return rows


async def _corrections(settings: Settings, sequential: int, burst: int
                       ) -> tuple[list[float], float]:
    """Latency of single corrections (sent -> applied event received) and the rate of a
    burst, through one in-process worker and the real broker."""
    from aurora_stream.client.consume import ResultCollector
    from aurora_stream.client.feedback import FeedbackClient, correction_for
    from aurora_stream.client.publish import new_dataset_id, publish_file
    from aurora_stream.service.worker import running_stack

    with tempfile.TemporaryDirectory() as tmp:
        wide = generate_wide_csv(Path(tmp) / "wide.csv", columns=50, rows=50)
        async with running_stack(settings) as (bootstrap, _):
            collector = await ResultCollector(bootstrap, from_start=False).start()
            ds = new_dataset_id("bench-corrections")
            await publish_file(wide, bootstrap, dataset_id=ds, user_id="bench")
            recs = await collector.wait(ds, timeout=120)
            await collector.stop()
            client = await FeedbackClient(bootstrap).start()
            lats = []
            types = ("categorical", "numeric")
            for i in range(sequential):
                rec = recs[i % len(recs)]
                c = correction_for(rec, accepted=False, feature_type=types[i % 2],
                                   correction_id=f"seq-{i}")
                t0 = time.perf_counter()
                await client.send_and_wait([c])
                lats.append(time.perf_counter() - t0)
            batch = [correction_for(recs[i % len(recs)], accepted=False,
                                    feature_type=types[i % 2], correction_id=f"burst-{i}")
                     for i in range(burst)]
            t0 = time.perf_counter()
            await client.send_and_wait(batch, timeout=600)
            rate = burst / (time.perf_counter() - t0)
            await client.stop()
    return lats, rate


def run_corrections_bench(sequential: int = 50, burst: int = 1000) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(home=Path(tmp) / "home", broker=None, redis_url=None)
        return asyncio.run(_corrections(settings, sequential, burst))
