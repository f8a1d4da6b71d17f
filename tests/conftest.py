"""Shared fixtures: a real Tansu broker and a real redis-server, on loopback, per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_stream.recommend.prior import load_prior
from aurora_stream.service.broker import EmbeddedBroker
from aurora_stream.service.ports import free_port, wait_for_port

# The test broker is Tansu: workers and CLI subprocesses use its short group timeouts.
os.environ.setdefault("AURORA_BROKER_KIND", "tansu")
# One identity (keys, registry, credentials) for every process of the session, whatever its
# AURORA_HOME: workers with homes of their own verify what the test process signed, as
# workers of one deployment share their issuer (Redis registry or a shared directory).
os.environ.setdefault("AURORA_IDENTITY_DIR", tempfile.mkdtemp(prefix="aurora-test-identity-"))

SHARED = Path(__file__).resolve().parents[2] / "shared"
SORTINGHAT = SHARED / "datasets" / "sortinghat"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A real embedded broker of each test's own (it starts in about 0.25 s).

    Not one per session: a new consumer group starts at the earliest offsets, so on a
    shared broker every new worker first replayed every event the earlier tests left
    (late in the suite, a minute of other tests' files before its own), which made the
    service tests slow and, on a slower machine, time out."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as b:
        yield b


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, no persistence."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run the README test command (it installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def aurora_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated AURORA_HOME so no test shares local state with another or with the user."""
    home = tmp_path / "aurora-home"
    home.mkdir()
    monkeypatch.setenv("AURORA_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def _prior():
    """The shipped prior, loaded once per session."""

    return load_prior()


@pytest.fixture
def bank(_prior):
    """A private copy of the shipped prior for one test."""
    return _prior.copy()
