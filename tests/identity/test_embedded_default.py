"""The embedded default needs no set-up: ``aurora run`` from a fresh AURORA_HOME works, makes
the default user's credential (0600) and runs a broker closed to other OS users."""

from __future__ import annotations

import json
from pathlib import Path

from test_users_cli import REPO, aurora


def test_run_from_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    r = aurora(home, "run", str(REPO / "examples" / "clean.csv"), "--json", timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert lines and all(x["feature_type"] for x in lines)
    cred = home / "identity" / "credentials" / "default.jwt"
    assert cred.stat().st_mode & 0o777 == 0o600
    assert (home / "identity" / "signing.key").stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    log = (home / "broker.log").read_text() if (home / "broker.log").exists() else ""
    assert "open to every local user" not in log
