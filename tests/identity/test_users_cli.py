"""``aurora users add/list/revoke`` and the clients' credentials, as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson

from aurora_stream.config import Settings
from aurora_stream.identity import IdentityRefused, Verifier, token_headers

AURORA = str(Path(sys.executable).with_name("aurora"))
REPO = Path(__file__).resolve().parents[2]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURORA_")}
    return {**env, "AURORA_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1", **extra}


def aurora(home: Path, *args: str, timeout: float = 60, **extra: str
           ) -> subprocess.CompletedProcess:
    return subprocess.run([AURORA, *args], capture_output=True, text=True, env=_env(home, **extra),
                          cwd=REPO, timeout=timeout)


def test_add_list_revoke(tmp_path: Path) -> None:
    home = tmp_path / "home"
    add = aurora(home, "users", "add", "alice")
    assert add.returncode == 0, add.stderr
    token = add.stdout.strip()
    assert token.count(".") == 2 and "alice" in add.stderr
    saved = home / "identity" / "credentials" / "alice.jwt"
    assert saved.read_text() == token and saved.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    settings = Settings.from_env(home=home)
    assert Verifier.from_settings(settings).user_of(token_headers(token), "alice") == "alice"

    assert aurora(home, "users", "add", "bob", "--days", "2").returncode == 0
    rows = [orjson.loads(line) for line in
            aurora(home, "users", "list", "--json").stdout.splitlines()]
    assert [(r["user"], r["state"]) for r in rows] == [("alice", "live"), ("bob", "live")]
    assert 1.9 * 86400 < rows[1]["expires_at"] - rows[1]["issued_at"] <= 2 * 86400
    table = aurora(home, "users", "list").stdout
    assert "alice" in table and "live" in table

    rev = aurora(home, "users", "revoke", "alice")
    assert rev.returncode == 0 and "revoked 1" in rev.stderr
    assert not saved.exists()
    again = aurora(home, "users", "revoke", "alice")
    assert again.returncode == 2 and again.stderr.strip() == "error: alice has no live credential"
    rows = [orjson.loads(line) for line in
            aurora(home, "users", "list", "--json").stdout.splitlines()]
    assert {r["user"]: r["state"] for r in rows} == {"alice": "revoked", "bob": "live"}
    try:
        Verifier.from_settings(settings).user_of(token_headers(token), "alice")
        raise AssertionError("a revoked credential verified")
    except IdentityRefused as exc:
        assert "revoked" in str(exc)


def test_bad_names_and_unknown_users_are_one_line_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = aurora(home, "users", "add", "no such/user")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    t0 = time.monotonic()
    pub = aurora(home, "publish", str(REPO / "examples" / "clean.csv"), "--user", "mallory")
    assert pub.returncode == 2
    assert pub.stderr.strip().splitlines() == [
        f"error: no credential for user 'mallory' in {home}: run `aurora users add mallory` "
        "(or set AURORA_TOKEN)"]
    assert time.monotonic() - t0 < 20  # refused before any broker or worker starts
    assert not (home / "broker.log").exists()


def test_aurora_token_must_be_the_users(tmp_path: Path) -> None:
    home = tmp_path / "home"
    token = aurora(home, "users", "add", "alice").stdout.strip()
    r = aurora(home, "publish", str(REPO / "examples" / "clean.csv"), "--user", "bob",
               AURORA_TOKEN=token)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: AURORA_TOKEN is a credential of 'alice', not of 'bob'"
