"""The CLI as a person uses it over time: ``aurora up`` until Ctrl-C, and corrections that
teach the next ``aurora run`` without any service left running in between."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from service_helpers import EXAMPLES

AURORA = str(Path(sys.executable).with_name("aurora"))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AURORA_BROKER_KIND"}
    # no sharing with the DP prior here, so that users must be strictly isolated
    return {**env, "AURORA_HOME": str(home), "AURORA_EPSILON_PER_DAY": "0"}


def _cli(args: list[str], home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([AURORA, *args], env=_env(home), capture_output=True, text=True,
                          timeout=timeout)


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def _children_alive(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.timeout(180)
def test_up_serves_other_commands_and_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = subprocess.Popen([AURORA, "up"], env=_env(home), stderr=subprocess.PIPE, text=True,
                          start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "ready" not in line and time.monotonic() < deadline:
            line = up.stderr.readline()
        assert "ready" in line, "aurora up never became ready"
        broker_children = _children_alive(up.pid)
        assert broker_children, "aurora up runs the embedded broker as its child"
        pub = _cli(["publish", str(EXAMPLES / "clean.csv"), "--dataset", "upcheck"], home)
        assert pub.returncode == 0, pub.stderr
        dataset = pub.stdout.strip().splitlines()[-1]
        assert dataset.startswith("upcheck-")
        recs = _cli(["recommendations", dataset, "--json", "--timeout", "60"], home)
        assert recs.returncode == 0, recs.stderr
        lines = [orjson.loads(x) for x in recs.stdout.splitlines() if x.strip()]
        n_columns = len((EXAMPLES / "clean.csv").read_text().splitlines()[0].split(","))
        assert len(lines) == n_columns
        assert {r["dataset"] for r in lines} == {dataset}
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert up.wait(30) == 0
        for pid in broker_children:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(
                f"/proc/{pid}/status").read_text(), f"broker {pid} left behind"
        assert not (home / "up.json").exists()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def _run_json(home: Path, csv: Path) -> dict[str, dict]:
    res = _cli(["run", str(csv), "--json"], home)
    assert res.returncode == 0, res.stderr
    return {r["column"]: r for r in map(orjson.loads, res.stdout.splitlines())}


@pytest.mark.timeout(240)
def test_corrections_teach_the_next_run_with_nothing_left_running(tmp_path: Path) -> None:
    home = tmp_path / "home"
    csv = EXAMPLES / "clean.csv"
    first = _run_json(home, csv)
    assert first["plan"]["feature_type"] != "context-specific"
    fix = ["plan", "--type", "context-specific", "--action", "drop", "--imputation", "none"]
    for i in range(3):  # k = 3 consistent corrections (of 3 files) induce a learned rule
        dataset = (first if i == 0 else _run_json(home, csv))["plan"]["dataset"]
        res = _cli(["correct", dataset, *fix], home)
        assert res.returncode == 0, res.stderr
        assert "applied" in res.stderr
    # the same correction again (a retry after a crash or a timeout) is applied once only
    res = _cli(["correct", dataset, *fix], home)
    assert res.returncode == 0 and "duplicate" in res.stderr, res.stderr
    rules = _cli(["rules", "--user", "default", "--json"], home)
    assert rules.returncode == 0, rules.stderr
    learned = [orjson.loads(x) for x in rules.stdout.splitlines()]
    assert any(r["feature_type"] == "context-specific" and r["active"] for r in learned)
    again = _run_json(home, csv)
    assert again["plan"]["feature_type"] == "context-specific"
    assert again["plan"]["transformation"] == "drop"
    assert again["plan"]["layer"] in ("L1-learned-rule", "L3-model")
    assert again["plan"]["model_version"] != first["plan"]["model_version"]
    # with nothing shared (epsilon 0), another user's recommendations are untouched
    assert _cli(["users", "add", "someone-else"], home).returncode == 0  # a credential first
    other = _cli(["run", str(csv), "--json", "--user", "someone-else"], home)
    theirs = {r["column"]: r for r in map(orjson.loads, other.stdout.splitlines())}
    assert theirs["plan"]["feature_type"] == first["plan"]["feature_type"]


@pytest.mark.timeout(240)
def test_learning_survives_sigkill_of_worker_and_broker(tmp_path: Path) -> None:
    """Learn through a running ``aurora up``, SIGKILL it (worker and broker), start again:
    the recommendations are identical to those served before the kill."""
    home = tmp_path / "home"
    csv = EXAMPLES / "clean.csv"
    up = subprocess.Popen([AURORA, "up"], env=_env(home), stderr=subprocess.PIPE, text=True,
                          start_new_session=True)
    try:
        line, deadline = "", time.monotonic() + 60
        while "ready" not in line and time.monotonic() < deadline:
            line = up.stderr.readline()
        assert "ready" in line
        brokers = _children_alive(up.pid)
        for _ in range(3):  # three files, the same column corrected in each
            pub = _cli(["publish", str(csv), "--dataset", "kill"], home)
            dataset = pub.stdout.strip().splitlines()[-1]
            assert _cli(["recommendations", dataset, "--json"], home).returncode == 0
            res = _cli(["correct", dataset, "city", "--type", "context-specific",
                        "--action", "drop"], home)
            assert res.returncode == 0, res.stderr
        before = _cli(["publish", str(csv), "--dataset", "after"], home).stdout.split()[-1]
        served = _cli(["recommendations", before, "--json"], home)
        served_before = {r["column_index"]: (r["feature_type"], r["transformation"],
                                             r["imputation"], r["layer"])
                         for r in map(orjson.loads, served.stdout.splitlines())}
        assert served_before[5][0] == "context-specific"  # city is column 5
    finally:
        os.killpg(up.pid, signal.SIGKILL)  # the worker, no clean shutdown
        up.wait()
    deadline = time.monotonic() + 10  # its broker dies with it (PR_SET_PDEATHSIG)
    while any(_alive(pid) for pid in brokers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert brokers and not any(_alive(pid) for pid in brokers), "broker outlived aurora up"
    again = _run_json(home, csv)
    after = {r["column_index"]: (r["feature_type"], r["transformation"], r["imputation"],
                                 r["layer"]) for r in again.values()}
    assert after == served_before
