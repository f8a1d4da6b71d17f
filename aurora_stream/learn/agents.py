"""Learn agent: corrections (keyed by user, so one user's learning is serial) -> learning."""

from __future__ import annotations

from typing import Any


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the learn agent to the app."""
