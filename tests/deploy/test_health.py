"""/healthz and /readyz of a live worker: not ready while the group assigns partitions,
ready after, not ready when the broker goes away (while /healthz stays up); the bind
address is AURORA_METRICS_HOST (loopback unless told)."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from aurora_stream.config import Settings
from aurora_stream.service.broker import EmbeddedBroker
from aurora_stream.service.ports import free_port
from aurora_stream.service.worker import Worker


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _outside_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: only picks the route
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_readiness_follows_assignment_and_broker(aurora_home: Path, tmp_path: Path) -> None:
    port = free_port()

    async def main() -> None:
        broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
        second = EmbeddedBroker(log_path=tmp_path / "tansu-again.log")
        try:
            settings = Settings.from_env(broker=broker.url, home=aurora_home, metrics_port=port,
                                         app_id=f"t-health-{uuid.uuid4().hex[:8]}")
            worker = Worker(settings, broker.url)
            starting = asyncio.ensure_future(worker.start(timeout=60))
            base = f"http://127.0.0.1:{port}"
            while worker.health is None and not starting.done():
                await asyncio.sleep(0.01)
            status, body = await asyncio.to_thread(_get, f"{base}/readyz")
            if not starting.done():  # the join takes a second or so: seen before it ends
                assert status == 503 and body["checks"]["partitions_assigned"] is False, body
            await starting
            try:
                assert (await asyncio.to_thread(_get, f"{base}/healthz"))[0] == 200
                status, body = await asyncio.to_thread(_get, f"{base}/readyz")
                assert status == 200, body
                assert body["checks"] == {"partitions_assigned": True, "broker_reachable": True}
                outside = _outside_address()
                if outside:  # the default bind address is loopback only
                    assert not _accepts(outside, port)
                broker.kill()
                await asyncio.sleep(2.5)  # past the cached broker check
                status, body = await asyncio.to_thread(_get, f"{base}/readyz")
                assert status == 503 and body["checks"]["broker_reachable"] is False, body
                assert (await asyncio.to_thread(_get, f"{base}/healthz"))[0] == 200
                # back on the same port (empty: memory storage), so the worker can leave
                second.port = broker.port
                second.start()
                await asyncio.sleep(2.5)
                status, body = await asyncio.to_thread(_get, f"{base}/readyz")
                assert body["checks"]["broker_reachable"] is True, body
            finally:
                await asyncio.wait_for(worker.stop(), 60)
            assert not _accepts("127.0.0.1", port), "the health server outlived the worker"
        finally:
            broker.stop()
            second.stop()

    asyncio.run(main())


def test_metrics_host_all_interfaces(broker, aurora_home: Path) -> None:
    outside = _outside_address()
    port = free_port()
    settings = Settings.from_env(broker=broker.url, home=aurora_home, metrics_port=port,
                                 metrics_host="0.0.0.0",
                                 app_id=f"t-health-{uuid.uuid4().hex[:8]}")

    async def main() -> None:
        worker = await Worker(settings, broker.url).start(timeout=60)
        try:
            assert await asyncio.to_thread(_accepts, "127.0.0.1", port)
            if outside:
                assert await asyncio.to_thread(_accepts, outside, port)
        finally:
            await worker.stop()

    asyncio.run(main())
