"""The fault suite, through the CLI as people use it (real processes, real broker, real
disk): two corrections at once, a Redis outage, a SIGKILL at any step of a correction, a
full disk. Nothing confirmed is lost, nothing is applied twice, every failure is one line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from service_helpers import AURORA, EXAMPLES

from aurora_stream.learn.persistence import local_store
from aurora_stream.learn.state import UserState, store_name


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AURORA_BROKER_KIND"}
    return {**env, "AURORA_HOME": str(home), "AURORA_EPSILON_PER_DAY": "0", **extra}


def _cli(args: list[str], home: Path, timeout: float = 120, **extra: str):
    return subprocess.run([AURORA, *args], env=_env(home, **extra), capture_output=True,
                          text=True, timeout=timeout)


def _dataset(home: Path, user: str = "default") -> str:
    if user != "default":  # a user needs a credential before she publishes or corrects
        added = _cli(["users", "add", user], home)
        assert added.returncode == 0, added.stderr
    res = _cli(["run", str(EXAMPLES / "clean.csv"), "--json", "--user", user], home)
    assert res.returncode == 0, res.stderr
    return orjson.loads(res.stdout.splitlines()[0])["dataset"]


def _corrections(home: Path, user: str) -> int:
    data = local_store(home).load(store_name(user))
    if data is None:
        return 0
    state = UserState.from_bytes(data)
    return 0 if state.models is None else state.models.n


@pytest.mark.timeout(240)
def test_two_corrections_at_once_on_one_home_are_both_applied(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ds = {u: _dataset(home, u) for u in ("u1", "u2")}
    procs = [subprocess.Popen([AURORA, "correct", ds[u], col, "--type", t, "--user", u],
                              env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for col, t, u in (("age", "categorical", "u1"), ("plan", "numeric", "u2"))]
    results = [(p.wait(180), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0 and "applied" in err, err
    assert _corrections(home, "u1") == 1 and _corrections(home, "u2") == 1


@pytest.mark.timeout(180)
def test_a_second_aurora_up_on_one_home_refuses(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = subprocess.Popen([AURORA, "up"], env=_env(home), stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        line, deadline = "", time.monotonic() + 60
        while "ready" not in line and time.monotonic() < deadline:
            line = first.stderr.readline()
        second = _cli(["up"], home, timeout=60)
        assert second.returncode == 2 and "in use by process" in second.stderr, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1  # one line, no traceback
        assert (home / "up.json").exists()  # the refused one did not delete the first's file
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(30)


@pytest.mark.timeout(120)
def test_a_redis_outage_does_not_fail_the_pipeline(tmp_path: Path) -> None:
    res = _cli(["run", str(EXAMPLES / "clean.csv"), "--json"], tmp_path / "home",
               AURORA_REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 10


@pytest.mark.timeout(400)
@pytest.mark.parametrize("delay", [1.0, 2.5, 4.0])
def test_a_sigkilled_correction_retried_is_applied_exactly_once(tmp_path: Path,
                                                                delay: float) -> None:
    home = tmp_path / "home"
    ds = _dataset(home, "k")
    args = [AURORA, "correct", ds, "age", "--type", "categorical", "--user", "k"]
    p = subprocess.Popen(args, env=_env(home), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)  # before, during or after the state write
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(10)
    before = _corrections(home, "k")
    retry = _cli(args[1:], home)
    assert retry.returncode == 0, retry.stderr
    assert ("duplicate" in retry.stderr) == (before == 1), (before, retry.stderr)
    assert _corrections(home, "k") == 1  # once, whatever the kill interrupted


@pytest.mark.timeout(240)
def test_a_full_disk_refuses_the_correction_visibly_and_a_retry_applies_it_once(
        tmp_path: Path) -> None:
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        home = mnt / "home"
        ds = _dataset(home, "full")
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        args = ["correct", ds, "age", "--type", "categorical", "--user", "full",
                "--timeout", "30"]
        refused = _cli(args, home)
        assert refused.returncode != 0, refused.stderr
        assert len(refused.stderr.strip().splitlines()) <= 2, refused.stderr  # no traceback
        assert "Traceback" not in refused.stderr
        assert _corrections(home, "full") == 0
        filler.unlink()
        retry = _cli(args, home)
        assert retry.returncode == 0 and "applied" in retry.stderr, retry.stderr
        assert _corrections(home, "full") == 1
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)


def _broker_pids(home: Path) -> list[int]:
    """The embedded broker's processes (Tansu, and its namespace wrapper) of ``home``."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes()
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if f"AURORA_HOME={home}".encode() in env and b"tansu" in cmd:
            pids.append(int(d.name))
    return pids


@pytest.mark.timeout(120)
def test_the_embedded_broker_killed_mid_run_ends_it_with_one_line(tmp_path: Path) -> None:
    """SIGKILL of the embedded broker while ``aurora run`` works: the run says so in one line
    and exits 2 at once (it used to wait for its whole timeout, printing the Kafka clients'
    connection errors by the thousand)."""
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("id,amount,country,comment\n")
        for i in range(1_500_000):
            f.write(f"{i},{i % 997 * 1.25:.2f},{('DE', 'FR', 'IT')[i % 3]},word {i % 999}\n")
    home = tmp_path / "home"
    p = subprocess.Popen([AURORA, "run", str(path), "--json"], env=_env(home),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not _broker_pids(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # publishing and parsing under way
    assert p.poll() is None, "the run ended before the broker could be killed"
    for pid in _broker_pids(home):
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:  # a failed run is not left behind
            p.kill()
            p.wait(10)
    assert p.returncode == 2, stderr[-2000:]
    assert time.monotonic() - killed < 15
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines == [lines[-1]] and "the embedded broker stopped" in lines[-1], stderr[-2000:]
