"""One writer per AURORA_HOME: an exclusive ``flock`` held while an embedded stack runs.

Two embedded processes on one home (two ``aurora correct``, or ``aurora up`` twice) would
each load, change and write the same learned state; the lock makes the second one wait
(``aurora correct``, ``aurora run``) or refuse (``aurora up``), with the holder's pid in the
message. The kernel drops the lock when its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path


class HomeBusy(RuntimeError):
    """Another live process holds this AURORA_HOME."""


class HomeFull(OSError):
    """AURORA_HOME's disk has too little room for the worker's tables and learned state."""


MIN_FREE = 32 << 20  # bytes: tables, broker log and a few state writes


def check_free_space(home: Path, need: int = MIN_FREE) -> None:
    """Refuse to start a worker on a (nearly) full disk, before anything half-works:
    the tables could not be opened and no correction could be saved."""
    free = shutil.disk_usage(home).free
    if free < need:
        raise HomeFull(f"AURORA_HOME {home} has {free / 2**20:.1f} MiB free; the worker needs "
                       f"at least {need / 2**20:.0f} MiB for its tables and learned state: "
                       "free some space and run the command again (nothing was applied)")


class HomeLock:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "home.lock"
        self.fd: int | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def acquire(self, wait: float = 0.0) -> HomeLock:
        """Take the lock, waiting up to ``wait`` seconds; raises ``HomeBusy``."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise HomeBusy(
                        f"AURORA_HOME {self.path.parent} is in use by process {self.holder()} "
                        f"(an `aurora up` or another command); wait for it, or stop it"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
