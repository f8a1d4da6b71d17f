"""Helpers for the deployment tests: the shipped deploy/ files, and a real Prometheus.

Prometheus is the Debian package (2.42, installed by tests/run.sh when missing), started on
loopback with a temp config and a temp TSDB; the process belongs to the test that started it
and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from aurora_stream.service.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "aurora.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
PROMETHEUS_CONFIG = DEPLOY / "prometheus.yml"
JOB = "aurora-worker"


def need(exe: str) -> str:
    path = shutil.which(exe)
    if path is None:
        pytest.fail(f"{exe} is not installed: run tests/run.sh (it installs Debian's prometheus)")
    return path


def dockerfile_healthcheck() -> list[str]:
    """The argv of the Dockerfile's HEALTHCHECK CMD (exec form)."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    (line,) = [ln for ln in text.splitlines() if ln.startswith("HEALTHCHECK")]
    return yaml.safe_load(line[line.index(" CMD ") + 5:].strip())


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panel_queries(dash: dict | None = None) -> list[tuple[str, str]]:
    """(panel title, expr) of every target of every panel (rows' nested panels included)."""
    dash = dash or dashboard()
    out = []
    stack = list(dash.get("panels", []))
    while stack:
        panel = stack.pop(0)
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            out.append((panel.get("title", "?"), target["expr"]))
    return out


def scrape_config_for(target: str, interval: str = "1s") -> dict:
    """deploy/prometheus.yml with its worker job pointed at ``target`` instead of DNS."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [target]}]
    return config


@contextlib.contextmanager
def running_prometheus(config: dict, workdir: Path) -> Iterator[Prometheus]:
    exe = need("prometheus")
    port = free_port()
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [exe, f"--config.file={path}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    try:
        wait_for_port(port, 30)
        prom = Prometheus(f"http://127.0.0.1:{port}", workdir / "prometheus.log")
        prom.wait_ready(30)
        yield prom
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Prometheus:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def wait_ready(self, timeout: float) -> None:
        """Until /-/ready answers 200 (it is 503 while the TSDB opens)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"Prometheus not ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def get(self, path: str, **params: str) -> dict:
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=10) as r:
            return json.loads(r.read())

    def query(self, expr: str) -> dict:
        """The /api/v1/query answer (raises on HTTP 400, i.e. a query that does not parse)."""
        try:
            return self.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            raise AssertionError(f"query {expr!r} rejected: {exc.code} {body}") from None

    def values(self, expr: str) -> list[float]:
        data = self.query(expr)
        assert data["status"] == "success", data
        result = data["data"]["result"]
        if data["data"]["resultType"] == "scalar":
            return [float(result[1])]
        return [float(s["value"][1]) for s in result]

    def wait_for(self, expr: str, timeout: float = 30.0, ok=lambda v: bool(v)) -> list[float]:
        deadline = time.monotonic() + timeout
        while True:
            v = self.values(expr)
            if ok(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr!r} still {v} after {timeout}s; log: "
                                     f"{self.log.read_text()[-2000:]}")
            time.sleep(0.25)


def finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v) and not math.isinf(v)]
