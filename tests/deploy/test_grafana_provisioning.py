"""Grafana provisioning (datasource + dashboard provider) loads the shipped dashboard, and
every panel query is valid PromQL (``promtool check rules``; the scrape test evaluates them
on a live Prometheus)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from deploy_helpers import DASHBOARD, PROVISIONING, REPO, dashboard, need, panel_queries


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _grafana_mounts() -> dict[str, Path]:
    """container path -> host path of the grafana service's bind mounts."""
    out = {}
    for v in _compose()["services"]["grafana"]["volumes"]:
        host, container = v.split(":")[:2]
        out[container] = (REPO / host).resolve()
    return out


def test_datasource_is_the_one_the_dashboard_uses() -> None:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds["type"] == "prometheus" and ds["access"] == "proxy" and ds["isDefault"]
    assert ds["url"] == "http://prometheus:9090"  # the compose service name and port
    assert "prometheus" in _compose()["services"]
    uids = {p["datasource"]["uid"] for p in dashboard()["panels"]}
    uids |= {t["datasource"]["uid"] for p in dashboard()["panels"] for t in p["targets"]}
    assert uids == {ds["uid"]}


def test_provider_points_at_the_mounted_dashboards() -> None:
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "aurora.yml").read_text())
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    mounts = _grafana_mounts()
    assert mounts["/etc/grafana/provisioning"] == PROVISIONING.resolve()
    folder = mounts[provider["options"]["path"]]
    assert DASHBOARD.resolve().parent == folder and DASHBOARD.exists()


def test_dashboard_structure() -> None:
    dash = dashboard()
    assert dash["uid"] and dash["title"] and isinstance(dash["schemaVersion"], int)
    panels = dash["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in panels:
        assert p["type"] in {"timeseries", "stat", "table", "gauge", "bargauge"}, p["type"]
        assert set(p["gridPos"]) == {"x", "y", "w", "h"} and p["gridPos"]["x"] + \
            p["gridPos"]["w"] <= 24
        refs = [t["refId"] for t in p["targets"]]
        assert p["targets"] and len(refs) == len(set(refs)), p["title"]
    # what the issue asks a cluster to see
    text = " ".join(e for _, e in panel_queries(dash))
    for metric in ("aurora_stage_seconds_bucket", "aurora_consumer_lag",
                   "aurora_dead_letters_total", "aurora_refusals_total", "aurora_prior_info",
                   "aurora_worker_ready", 'up{job="aurora-worker"}'):
        assert metric in text, metric


def test_every_panel_query_parses(tmp_path: Path) -> None:
    promtool = need("promtool")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"aurora:panel_{i}", "expr": expr}
        for i, (_, expr) in enumerate(panel_queries())]}]}
    path = tmp_path / "panels.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(rules['groups'][0]['rules'])} rules found" in r.stdout


def test_prometheus_config_is_valid() -> None:
    promtool = need("promtool")
    r = subprocess.run([promtool, "check", "config", str(REPO / "deploy" / "prometheus.yml")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
