"""``aurora run`` as a user runs it: a subprocess that prints results and leaves nothing behind."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from service_helpers import AURORA, EXAMPLES, REPO, json_lines

from aurora_stream.vocab import is_valid

JSON_KEYS = {"dataset", "column", "feature_type", "transformation", "imputation", "confidence",
             "layer", "reason", "recommendation_id"}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    return {**env, "AURORA_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}


def _marked(home: Path) -> dict[int, str]:
    """pid -> cmdline of every live process whose environment names this AURORA_HOME."""
    marker = f"AURORA_HOME={home}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                stat = (entry / "stat").read_text()
                if stat[stat.rindex(")") + 2] == "Z":
                    continue  # a zombie holds no resources; its parent is gone or reaping
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return {pid: cmd.decode(errors="replace") for pid, cmd in found.items()}


def _run(args: list[str], home: Path, timeout: float = 120) -> tuple[subprocess.CompletedProcess,
                                                                    dict[int, str]]:
    """Run the CLI in its own session; return its result and every process it started."""
    proc = subprocess.Popen([AURORA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(home), cwd=REPO, start_new_session=True)
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            seen.update({p: c for p, c in _marked(home).items() if p != proc.pid})
            if time.monotonic() > deadline:
                raise TimeoutError(f"aurora {' '.join(args)} still running after {timeout}s")
            time.sleep(0.2)
        out, errs = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(10)
        for pid in _marked(home):  # never leave our own children running, even on failure
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(),
                                       errs.decode()), seen


def _assert_nothing_left(home: Path, seen: dict[int, str]) -> None:
    assert any("tansu" in cmd or "broker" in cmd for cmd in seen.values()), (
        f"the embedded broker was never seen, so the leak check proves nothing: {seen}")
    time.sleep(0.2)
    left = _marked(home)
    assert not left, f"processes left behind by aurora: {left}"


@pytest.mark.timeout(180)
def test_run_json_prints_one_line_per_column_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    file = EXAMPLES / "clean.csv"
    result, seen = _run(["run", str(file), "--json"], home)
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    with file.open(newline="") as f:
        header = next(csv.reader(f))
    assert len(lines) == len(header), result.stdout
    assert [line["column"] for line in lines] == header
    for line in lines:
        assert JSON_KEYS <= set(line), line
        assert is_valid(line["feature_type"], line["transformation"], line["imputation"])
    assert len({line["recommendation_id"] for line in lines}) == len(header)
    assert len({line["dataset"] for line in lines}) == 1
    _assert_nothing_left(home, seen)


def test_sniff_json_prints_every_parse_decision(tmp_path: Path) -> None:
    result = subprocess.run([AURORA, "sniff", str(EXAMPLES / "european.csv"), "--json"],
                            capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    [obj] = json_lines(result.stdout)
    assert set(obj) == {"delimiter", "quotechar", "escapechar", "encoding", "has_header",
                        "skip_lines", "comment", "decimal", "thousands", "single_column",
                        "missing"}
    assert obj["decimal"] == "," and "NA" in obj["missing"]
    assert obj["delimiter"] == ";" and obj["has_header"] is True
    assert obj["encoding"].lower() in {"cp1252", "windows-1252"}


def _ragged_lines(path: Path, n_fields: int) -> tuple[int, list[int]]:
    """(records, first line numbers of records whose field count is wrong), blank lines skipped."""
    records, bad = 0, []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        start = reader.line_num + 1
        for row in reader:
            if row:
                records += 1
                if len(row) != n_fields:
                    bad.append(start)
            start = reader.line_num + 1
    return records, bad


@pytest.mark.timeout(180)
def test_run_reports_rejected_rows_with_line_numbers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    file = EXAMPLES / "messy.csv"
    records, bad = _ragged_lines(file, 7)
    assert bad, "messy.csv should hold ragged rows"
    result, seen = _run(["run", str(file)], home)
    assert result.returncode == 0, result.stderr
    m = re.search(r"rows in: (\d+)\s+parsed: (\d+)\s+rejected: (\d+)", result.stdout)
    assert m, result.stdout
    rows_in, parsed, rejected = map(int, m.groups())
    assert rows_in == parsed + rejected
    assert (rows_in, rejected) == (records, len(bad))
    reported = [int(n) for n in re.findall(r"line (\d+): expected 7 fields", result.stdout)]
    assert reported == bad
    _assert_nothing_left(home, seen)


@pytest.mark.timeout(180)
def test_a_second_run_in_the_same_home_works(tmp_path: Path) -> None:
    """Local state outlives the embedded broker: the next run must not trip over it (it used to
    wait 60 s and fail on Faust's changelog consistency check)."""
    home = tmp_path / "home"
    file = EXAMPLES / "no_header.tsv"
    for attempt in (1, 2):
        result, seen = _run(["run", str(file), "--json", "--timeout", "60"], home, timeout=100)
        assert result.returncode == 0, f"run {attempt}: {result.stderr[-2000:]}"
        lines = json_lines(result.stdout)
        assert [line["column"] for line in lines] == [f"column_{i}" for i in range(1, 6)]
        _assert_nothing_left(home, seen)


def test_a_record_over_the_broker_message_limit_is_one_rejected_row(tmp_path: Path) -> None:
    """A 17 MiB cell (beyond the 16 MiB message limit; it used to kill the run with
    MessageSizeTooLargeError) is one rejected row with its line; every column is answered."""
    home, path = tmp_path / "home", tmp_path / "big-cell.csv"
    rows = [f"{i},n{i % 7},short" for i in range(3000)]
    rows[1500] = "1500,big," + "x" * (17 << 20)
    path.write_text("id,name,note\n" + "\n".join(rows) + "\n")
    result, seen = _run(["run", str(path)], home)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # the table wraps long lines
    assert re.search(r"rows in: 3000\s+parsed: 2999\s+rejected: 1", out), result.stdout
    assert "line 1502: record of 17,825,801 characters is longer than" in out
    assert all(name in out for name in ("│ id ", "│ name ", "│ note "))
    _assert_nothing_left(home, seen)


@pytest.mark.timeout(60)
def test_a_dataset_name_no_id_can_be_made_of_is_refused_before_anything_starts(
        tmp_path: Path) -> None:
    """A 250-character --dataset made ids the events' schema refuses (200 at most): every
    chunk was dead-lettered under a key cut at 200 characters, which the publisher never
    matched, so `aurora run` waited its whole --timeout (found by bench/adversarial.py)."""
    t0 = time.monotonic()
    result, seen = _run(["run", str(EXAMPLES / "clean.csv"), "--dataset", "d" * 250],
                        tmp_path / "home", timeout=30)
    assert result.returncode == 2, result.stderr
    assert "dataset name must have 1 to 187 characters" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not any("tansu" in c for c in seen.values()) and time.monotonic() - t0 < 20


@pytest.mark.timeout(60)
def test_a_broker_that_is_not_there_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """AURORA_BROKER naming a port nobody listens on is the user's to fix: one line, exit 2
    (README), not exit 1 as an internal error."""
    env = {**_env(tmp_path / "home"), "AURORA_BROKER": "kafka://127.0.0.1:1"}
    subprocess.run([AURORA, "users", "add", "default"], env=env, cwd=REPO, check=True,
                   capture_output=True, timeout=30)
    result = subprocess.run([AURORA, "run", str(EXAMPLES / "clean.csv"), "--timeout", "10"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=50)
    assert result.returncode == 2, result.stderr
    assert "Unable to bootstrap" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.timeout(120)
def test_a_table_file_sqlite_cannot_read_is_kept_aside_and_the_run_answered(
        tmp_path: Path) -> None:
    """worker/v1/tables/profiles.sqlite overwritten with junk: the run answers every column
    and the damaged file is kept next to the new one. Before, every agent crashed at each
    assignment ('file is not a database') and `aurora run` waited its whole timeout (found
    by bench/adversarial.py)."""
    home = tmp_path / "home"
    first, _ = _run(["run", str(EXAMPLES / "clean.csv"), "--json"], home)
    assert first.returncode == 0, first.stderr
    tables = home / "worker" / "v1" / "tables"
    table = tables / "profiles.sqlite"
    assert table.exists()
    table.write_bytes(os.urandom(4096))
    for extra in ("-wal", "-shm"):
        (tables / f"profiles.sqlite{extra}").unlink(missing_ok=True)
    result, _ = _run(["run", str(EXAMPLES / "clean.csv"), "--json", "--timeout", "60"], home,
                     timeout=90)
    assert result.returncode == 0, result.stderr
    assert len(json_lines(result.stdout)) == len(json_lines(first.stdout))
    assert [p.name for p in tables.iterdir() if ".damaged-" in p.name][:1] != []
