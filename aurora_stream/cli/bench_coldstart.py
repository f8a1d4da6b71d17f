"""``aurora bench coldstart``: how long a cold ``aurora run FILE`` takes, process start to exit.

Cold means a fresh AURORA_HOME (no learned state, no saved prior, a new embedded broker),
with the install's bytecode cached as after any first run (one untimed warm-up run first).
In the same run and on the same files it measures two baselines, because this machine is
shared and absolute seconds drift: the interpreter floor (``python -c pass``) and
``python -c "import polars; polars.read_csv(FILE)"``. Runs are interleaved (floor, polars,
aurora, file after file, N rounds) so that drift hits every row alike.

With ``phases``, N more runs of ``aurora run`` log at INFO and the milestones are read from
their log lines (seconds from process start): what the worker logs on its timeline
(``aurora.timeline``) and Faust's own lines, so an older build without the timeline still
shows the milestones Faust logs. Logging at INFO costs a little, hence separate runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aurora_stream.cli.bench import generate_csv, percentile

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clean.csv"
POLARS = "import sys, polars; polars.read_csv(sys.argv[1])"

# milestone -> a log line that marks it (the first match counts)
MILESTONES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("broker up", re.compile(r"aurora\.timeline INFO broker up")),
    ("app starting", re.compile(r"\[\^App\]: Starting")),
    ("group joined", re.compile(r"Joined group")),
    ("worker ready", re.compile(r"aurora\.timeline INFO worker ready|Recovery\]: Worker ready")),
    ("models loaded", re.compile(r"aurora\.timeline INFO models loaded")),
    ("first result", re.compile(r"aurora\.timeline INFO first result")),
    ("all results", re.compile(r"aurora\.timeline INFO all results")),
    ("app stopping", re.compile(r"\[\^App\]: Stopping")),
)
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass
class FileFigures:
    """Wall seconds of every timed run on one file."""

    name: str
    mb: float
    floor: list[float] = field(default_factory=list)
    polars: list[float] = field(default_factory=list)
    aurora: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)  # milestone -> seconds
    logged_exit: list[float] = field(default_factory=list)  # wall of the INFO runs


@dataclass
class ColdstartFigures:
    python: str
    runs: int
    files: list[FileFigures]


def milestones(log: str, started: float) -> dict[str, float]:
    """Seconds from ``started`` (epoch) to the first log line of each milestone in ``log``
    (lines as the CLI logs them: ``%(asctime)s %(name)s %(levelname)s %(message)s``).

    >>> t0 = dt.datetime(2026, 1, 2, 3, 4, 5).timestamp()
    >>> milestones("2026-01-02 03:04:06,250 faust.app.base INFO [^App]: Starting...", t0)
    {'app starting': 1.25}
    """
    found: dict[str, float] = {}
    for line in log.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        for name, pattern in MILESTONES:
            if name not in found and pattern.search(line):
                at = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                found[name] = round(at - started, 3)
    return found


def mixed_csv(path: Path, megabytes: float, seed: int = 1) -> Path:
    """The first ~``megabytes`` MB (whole lines, header included) of ``generate_csv``'s
    mixed file: it writes 50,000-row blocks, nearly 4 MB each."""
    full = generate_csv(path.with_suffix(".full.csv"), megabytes, seed=seed)
    limit = int(megabytes * 1e6)
    with open(full, "rb") as src, open(path, "wb") as dst:
        for line in src:
            dst.write(line)
            if dst.tell() >= limit:
                break
    full.unlink()
    return path


def _env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The children's environment: no AURORA_* of ours leaks in; bytecode may be written
    (a user's first run writes it too, and the warm-up run is what makes the rest "cold
    state, warm install")."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AURORA_") and k != "PYTHONDONTWRITEBYTECODE"}
    if home is not None:
        env["AURORA_HOME"] = str(home)
    return {**env, **extra}


def _timed(argv: list[str], env: dict[str, str], cwd: Path, timeout: float
           ) -> tuple[float, float, str]:
    """(epoch at start, wall seconds, stderr) of one process; raises if it fails. ``cwd`` is
    a scratch directory: ``python -m``/``-c`` put the working directory first on sys.path,
    so from a checkout they would import the checkout's package, not ``python``'s."""
    started, t0 = time.time(), time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {proc.returncode}: {tail}")
    return started, wall, proc.stderr.decode(errors="replace")


def run_coldstart_bench(runs: int = 5, *, python: str | None = None, mb: float = 1.0,
                        phases: bool = False, workdir: Path | None = None,
                        timeout: float = 300.0,
                        on_step: Callable[[str], object] | None = None) -> ColdstartFigures:
    """Measure ``runs`` cold runs of each command on examples/clean.csv and on a generated
    mixed CSV of ``mb`` MB (see the module docstring). ``python`` is the interpreter whose
    ``aurora_stream`` install is measured (default: this one)."""
    py = python or sys.executable
    step = on_step or (lambda _msg: None)
    if not EXAMPLE.exists():
        raise FileNotFoundError(f"{EXAMPLE} not found (run from a source checkout)")
    with tempfile.TemporaryDirectory(dir=workdir, prefix="aurora-coldstart-") as tmp:
        tmpdir = Path(tmp)
        mixed = mixed_csv(tmpdir / "mixed.csv", mb)
        files = [(EXAMPLE, FileFigures("examples/clean.csv", EXAMPLE.stat().st_size / 1e6)),
                 (mixed, FileFigures(f"generated mixed {mb:g} MB", mixed.stat().st_size / 1e6))]
        homes = iter(range(1 << 30))
        scratch = tmpdir / "cwd"
        scratch.mkdir()

        def aurora(path: Path, **extra: str) -> tuple[float, float, str]:
            home = tmpdir / f"home-{next(homes)}"
            return _timed([py, "-m", "aurora_stream.cli.main", "run", str(path), "--json"],
                          _env(home, **extra), scratch, timeout)

        step("warm-up run (bytecode, page cache)")
        aurora(EXAMPLE)
        for i in range(runs):
            for path, fig in files:
                step(f"round {i + 1}/{runs}: {fig.name}")
                fig.floor.append(_timed([py, "-c", "pass"], _env(), scratch, timeout)[1])
                fig.polars.append(_timed([py, "-c", POLARS, str(path)], _env(), scratch,
                                         timeout)[1])
                fig.aurora.append(aurora(path)[1])
        for i in range(runs if phases else 0):
            for path, fig in files:
                step(f"phases {i + 1}/{runs}: {fig.name}")
                started, wall, log = aurora(path, AURORA_LOG_LEVEL="INFO")
                for name, at in milestones(log, started).items():
                    fig.phases.setdefault(name, []).append(at)
                fig.logged_exit.append(wall)
        return ColdstartFigures(py, runs, [fig for _, fig in files])


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table_rows(f: FileFigures) -> list[tuple[str, str, str, str]]:
    """(command, median s, p90 s, ratio to the polars baseline) for one file."""
    base = _median(f.polars)
    rows = []
    for label, values in (("python -c pass (interpreter floor)", f.floor),
                          ("python -c 'import polars; polars.read_csv(FILE)'", f.polars),
                          ("aurora run FILE --json (fresh AURORA_HOME)", f.aurora)):
        rows.append((label, f"{_median(values):.2f}", f"{percentile(values, 90):.2f}",
                     f"{_median(values) / base:.2f}"))
    return rows


def phase_rows(f: FileFigures) -> list[tuple[str, str, str]]:
    """(milestone, median s from process start, runs that logged it) for one file; the
    exit row is the wall time of the same INFO runs."""
    n = len(f.logged_exit)
    rows = [(name, f"{_median(f.phases[name]):.2f}", f"{len(f.phases[name])}/{n}")
            for name, _ in MILESTONES if name in f.phases]
    rows.append(("exit", f"{_median(f.logged_exit):.2f}", f"{n}/{n}"))
    return rows
