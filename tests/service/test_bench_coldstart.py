"""``aurora bench coldstart``: it runs, prints its tables, and reads milestones from logs.

A benchmark, not a timed test: nothing here asserts how fast anything is.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from service_helpers import AURORA, REPO

from aurora_stream.cli.bench_coldstart import milestones, mixed_csv


def test_milestones_are_read_from_timeline_and_faust_lines() -> None:
    t0 = dt.datetime(2026, 5, 6, 7, 8, 9).timestamp()
    log = "\n".join([
        "2026-05-06 07:08:09,400 aurora.timeline INFO broker up",
        "2026-05-06 07:08:10,000 faust.app.base INFO [^App]: Starting...",
        "a line without a time stamp: Joined group",
        "2026-05-06 07:08:11,100 aiokafka.consumer.group_coordinator INFO Joined group 'aurora'",
        "2026-05-06 07:08:11,200 faust.tables.recovery INFO [^--Recovery]: Worker ready",
        "2026-05-06 07:08:11,300 aurora.timeline INFO worker ready",
        "2026-05-06 07:08:11,500 aurora.timeline INFO first result",
        "2026-05-06 07:08:11,700 aurora.timeline INFO first result",
        "2026-05-06 07:08:11,900 faust.app.base INFO [^App]: Stopping...",
    ])
    assert milestones(log, t0) == {"broker up": 0.4, "app starting": 1.0, "group joined": 2.1,
                                   "worker ready": 2.2, "first result": 2.5,
                                   "app stopping": 2.9}


def test_mixed_csv_is_about_the_size_asked_and_ends_with_a_whole_line(tmp_path: Path) -> None:
    path = mixed_csv(tmp_path / "m.csv", 0.2)
    data = path.read_bytes()
    assert 200_000 <= len(data) < 201_000
    assert data.endswith(b"\n") and data.startswith(b"order_id,amount,")
    assert not list(tmp_path.glob("*.full.csv"))


@pytest.mark.timeout(600)
def test_bench_coldstart_runs_and_prints_its_tables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    proc = subprocess.run([AURORA, "bench", "coldstart", "--runs", "1", "--phases", "--mb",
                           "0.05"], capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={**env, "AURORA_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for text in ("examples/clean.csv", "generated mixed 0.05 MB", "python -c pass",
                 "polars.read_csv(FILE)", "aurora run FILE --json", "/ polars", "phases:",
                 "app starting", "worker ready", "first result", "all results", "exit"):
        assert text in out, f"{text!r} missing from:\n{out}"
    assert not (tmp_path / "home").exists(), "the bench used the caller's AURORA_HOME"
