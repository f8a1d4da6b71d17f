"""docker-compose.yml and the Dockerfile, validated without a Docker engine (none here):
services, ports, volumes and healthchecks are present, every referenced file exists, and the
worker's command and environment match what ``aurora worker`` really takes."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_helpers import PROMETHEUS_CONFIG, REPO

AURORA = str(Path(sys.executable).with_name("aurora"))
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _env_vars_the_code_reads() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "aurora_stream").rglob("*.py"):
        names |= set(re.findall(r"\"(AURORA_[A-Z_]+)\"", path.read_text()))
    return names


@pytest.fixture(scope="module")
def worker_help() -> str:
    r = subprocess.run([AURORA, "worker", "--help"], capture_output=True, text=True,
                       timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                        "TERM": "dumb"})
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_services_of_the_stack() -> None:
    services = _compose()["services"]
    assert {"kafka", "redis", "worker", "prometheus", "grafana"} <= set(services)
    kafka = services["kafka"]["environment"]
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert "zookeeper" not in COMPOSE.read_text().lower()
    for name, svc in services.items():
        assert "healthcheck" in svc and svc["healthcheck"]["test"], f"{name} has no healthcheck"
    worker = services["worker"]
    assert worker["build"] == "." and DOCKERFILE.exists()
    assert "ports" not in worker, "replicas cannot share a host port"
    replicas = str(worker["deploy"]["replicas"])
    assert re.fullmatch(r"\$\{AURORA_WORKERS:-[2-9]\d*\}|[2-9]\d*", replicas), replicas
    deps = worker["depends_on"]
    assert deps["kafka"]["condition"] == deps["redis"]["condition"] == "service_healthy"
    assert "9090" in " ".join(services["prometheus"]["ports"])
    assert "3000" in " ".join(services["grafana"]["ports"])


def test_every_mounted_file_exists_and_named_volumes_are_declared() -> None:
    doc = _compose()
    for name, svc in doc["services"].items():
        for v in svc.get("volumes", []):
            source = v.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in doc.get("volumes", {}), f"{name}: undeclared volume {source}"


def test_prometheus_scrapes_the_worker_service() -> None:
    services = _compose()["services"]
    env = services["worker"]["environment"]
    assert env["AURORA_METRICS_HOST"] == "0.0.0.0"  # reachable from the Prometheus container
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (job,) = config["scrape_configs"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"] and sd["type"] == "A"
    assert str(sd["port"]) == str(env["AURORA_METRICS_PORT"])
    assert str(sd["port"]) in services["worker"]["expose"]
    assert "/healthz" in " ".join(services["worker"]["healthcheck"]["test"])


def test_worker_command_and_env_match_the_cli(worker_help: str) -> None:
    worker = _compose()["services"]["worker"]
    command = worker["command"]
    assert command[:2] == ["aurora", "worker"], command
    options = set(re.findall(r"(--[a-z][a-z-]*)", worker_help))
    for arg in command[2:]:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"aurora worker has no option {arg}"
    for arg, value in zip(command[2:], command[3:], strict=False):
        if arg == "--broker":
            assert value.startswith("kafka://kafka:"), value
        if arg == "--redis":
            assert value.startswith("redis://redis:"), value
    known = _env_vars_the_code_reads() | set(re.findall(r"AURORA_[A-Z_]+", worker_help))
    for name in worker["environment"]:
        assert name in known, f"{name} is read by nothing in aurora_stream"
    assert worker["environment"]["AURORA_STATE_KEY"].startswith("${AURORA_STATE_KEY:?")


def test_dockerfile(worker_help: str) -> None:
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    kinds = [k for k, _ in steps]
    users = [arg for k, arg in steps if k == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must not run as root"
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN"), \
        "USER comes after the installs"
    (health,) = [arg for k, arg in steps if k == "HEALTHCHECK"]
    assert "/healthz" in health and "CMD" in health
    env = " ".join(arg for k, arg in steps if k == "ENV")
    assert "AURORA_METRICS_HOST=0.0.0.0" in env
    port = re.search(r"AURORA_METRICS_PORT=(\d+)", env).group(1)
    assert ("EXPOSE", port) in steps
    ignored = [p.strip() for p in (REPO / ".dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    assert {".git", ".venv"} <= set(ignored)
    for k, arg in steps:
        if k == "COPY":
            *sources, _dest = shlex.split(arg)
            for src in sources:
                assert (REPO / src).exists(), f"COPY {src}: no such file"
                assert not any(fnmatch.fnmatch(src, pat) for pat in ignored), \
                    f"COPY {src} is excluded by .dockerignore"
    (cmd,) = [arg for k, arg in steps if k == "CMD"]
    assert yaml.safe_load(cmd)[:2] == ["aurora", "worker"]
    # the package reads topics/ and schemas/ next to itself: both are copied beside it
    copied = " ".join(arg for k, arg in steps if k == "COPY")
    for needed in ("aurora_stream", "topics", "schemas", "pyproject.toml", "README.md"):
        assert needed in copied, needed


def test_the_image_healthcheck_command_is_valid_python() -> None:
    (health,) = [arg for k, arg in _dockerfile() if k == "HEALTHCHECK"]
    argv = yaml.safe_load(health[health.index("CMD") + 3:].strip())
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "<healthcheck>", "exec")
