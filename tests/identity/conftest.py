"""The identity tests test per-home identities (keys and registry in AURORA_HOME), so the
session-wide shared identity of tests/conftest.py is switched off here."""

import pytest


@pytest.fixture(autouse=True)
def _per_home_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AURORA_IDENTITY_DIR", raising=False)
