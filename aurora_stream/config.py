"""Settings from flags and environment variables, in one place.

Every setting has an ``AURORA_*`` environment variable; CLI flags override them.
``AURORA_HOME`` (default ``~/.aurora``) holds all local state of the embedded mode, so two
installations or test runs never share state by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def aurora_home() -> Path:
    """Where local state lives (``AURORA_HOME``, default ``~/.aurora``)."""
    return Path(os.environ.get("AURORA_HOME") or Path.home() / ".aurora").expanduser()


def log_level() -> str:
    """``AURORA_LOG_LEVEL`` (default ERROR): how much the CLI and workers log."""
    return os.environ.get("AURORA_LOG_LEVEL", "ERROR").upper()


def sketch_key() -> str | None:
    """``AURORA_SKETCH_KEY``: a secret shared by publishers and workers that keys value
    hashes in sketches (see profile/hashing.py); None = a fixed public seed."""
    return os.environ.get("AURORA_SKETCH_KEY") or None


def broker_log_level() -> str:
    """``AURORA_BROKER_LOG`` (default warn): the embedded broker's RUST_LOG."""
    return os.environ.get("AURORA_BROKER_LOG", "warn")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; ``broker=None`` means start the embedded broker."""

    broker: str | None = None  # kafka://host:port[;kafka://host2:port]; None = embedded Tansu
    home: Path = field(default_factory=lambda: Path.home() / ".aurora")
    redis_url: str | None = None  # L0 cache (and production state store); None = in-process
    user: str = "default"
    app_id: str = "aurora"
    partitions: int = 4
    chunk_bytes: int = 1 << 20
    review_threshold: float = 0.6
    metrics_port: int = 0  # Prometheus exporter; 0 = off
    metrics_host: str = "127.0.0.1"  # /metrics, /healthz, /readyz; 0.0.0.0 in containers
    rule_support: int = 3  # corrections that induce an L1 rule
    epsilon_per_day: float = 1.0  # DP budget per user per day for the shared prior
    broker_kind: str | None = None  # "tansu" or "kafka"; None = tansu when embedded
    state_key: str | None = None  # hex HMAC key of learned state; None = AURORA_HOME/state.key

    @property
    def on_tansu(self) -> bool:
        """The broker is Tansu (embedded, or an external one such as the tests'), whose
        measured quirks the worker works around (see service/tansu.py)."""
        return (self.broker_kind or ("tansu" if self.embedded else "kafka")) == "tansu"

    @property
    def group_session_timeout(self) -> float:
        """Short on Tansu (a join takes about half of it; a dead member holds its partitions
        that long), Kafka's usual 30 s elsewhere."""
        return 1.5 if self.on_tansu else 30.0

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read ``AURORA_*`` variables, then apply non-None keyword overrides."""
        s = cls(
            broker=os.environ.get("AURORA_BROKER") or None,
            home=Path(_env("AURORA_HOME", str(Path.home() / ".aurora"))).expanduser(),
            redis_url=os.environ.get("AURORA_REDIS_URL") or None,
            user=_env("AURORA_USER", "default"),
            app_id=_env("AURORA_APP_ID", "aurora"),
            partitions=int(_env("AURORA_PARTITIONS", "4")),
            chunk_bytes=int(_env("AURORA_CHUNK_BYTES", str(1 << 20))),
            review_threshold=float(_env("AURORA_REVIEW_THRESHOLD", "0.6")),
            metrics_port=int(_env("AURORA_METRICS_PORT", "0")),
            metrics_host=_env("AURORA_METRICS_HOST", "127.0.0.1"),
            rule_support=int(_env("AURORA_RULE_SUPPORT", "3")),
            epsilon_per_day=float(_env("AURORA_EPSILON_PER_DAY", "1.0")),
            broker_kind=os.environ.get("AURORA_BROKER_KIND") or None,
            state_key=os.environ.get("AURORA_STATE_KEY") or None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "home" in given:
            given["home"] = Path(str(given["home"])).expanduser()
        return replace(s, **given)

    @property
    def shared_state(self) -> bool:
        """Users' learned state lives in Redis (a broker and a Redis URL are configured),
        so any worker can serve any user; else on local disk (the embedded mode)."""
        return bool(self.redis_url) and not self.embedded

    @property
    def embedded(self) -> bool:
        """True when no external broker is configured (the CLI starts Tansu)."""
        return self.broker is None

    def ensure_home(self) -> Path:
        """Create AURORA_HOME (mode 0700) and return it."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.home
