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


def broker_isolation() -> str:
    """``AURORA_BROKER_ISOLATION`` (default auto): how the embedded broker keeps other OS
    users out. ``auto`` = a private network namespace behind a uid-checked relay when the
    system allows user namespaces, else open with a warning; ``netns`` = that or refuse to
    start; ``none`` = open to every local user (see service/broker.py)."""
    value = os.environ.get("AURORA_BROKER_ISOLATION", "auto").strip().lower()
    if value not in ("auto", "netns", "none"):
        raise ValueError(f"AURORA_BROKER_ISOLATION={value!r}: must be auto, netns or none")
    return value


def missing_markers() -> tuple[str, ...] | None:
    """``AURORA_MISSING_MARKERS``: comma-separated cells read as missing (``NA,?,-,n.a.``),
    replacing the default list; unset = the default (``NA``, ``N/A``, ``?``, ``-``, ``null``,
    ``None``, empty ...)."""
    raw = os.environ.get("AURORA_MISSING_MARKERS")
    if raw is None:
        return None
    return tuple(dict.fromkeys(m.strip() for m in raw.split(",")))


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _num(name: str, default: str, kind: type, lo: float, hi: float = float("inf")) -> float:
    """A numeric setting within [lo, hi], or a ValueError naming the variable."""
    raw = _env(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected {'an integer' if kind is int else 'a number'}"
                         ) from None
    if not lo <= value <= hi:
        fmt = (lambda x: f"{x:d}") if kind is int else (lambda x: f"{x:g}")
        span = f"at least {fmt(lo)}" if hi == float("inf") else \
            f"between {fmt(lo)} and {fmt(hi)}"
        raise ValueError(f"{name}={raw!r}: must be {span}")
    return value


KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    """A setting that must be one of ``allowed`` (case-insensitive), or a ValueError."""
    raw = _env(name, default).strip().upper()
    if raw not in allowed:
        raise ValueError(f"{name}={raw!r}: must be one of {', '.join(a for a in allowed if a)}")
    return raw


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
    dp_mechanism: str = "aggregate"  # "aggregate" (central DP, default) or "example" (old)
    dp_release_users: int = 1000  # release at this many user-days (else at the day end)
    broker_kind: str | None = None  # "tansu" or "kafka"; None = tansu when embedded
    state_key: str | None = None  # hex HMAC key of learned state; None = AURORA_HOME/state.key
    chunk_timeout: float = 600.0  # a column whose missing chunks do not come is refused
    # --- identity (aurora_stream/identity/) ---
    token: str | None = None  # the client's credential (a JWT); None = AURORA_HOME's for user
    token_lifetime_days: float = 365.0  # lifetime of a credential `aurora users add` issues
    identity_dir: str | None = None  # keys + registry + credentials shared by several homes
    identity_public_key: str | None = None  # PEM file workers verify with; None = the home's
    identity_signing_key: str | None = None  # PEM file `aurora users add` signs with
    identity_cache_seconds: float = 5.0  # a verified token is trusted this long (revocation lag)
    # --- quotas (per user, token buckets; 0 = unlimited) ---
    quota_chunk_bytes_per_min: int = 512 << 20
    quota_corrections_per_min: int = 600
    # --- Kafka client security (production brokers; the embedded one is loopback only) ---
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    kafka_sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None  # client certificate (mutual TLS), optional
    kafka_ssl_keyfile: str | None = None

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
            partitions=int(_num("AURORA_PARTITIONS", "4", int, 1, 1024)),
            chunk_bytes=int(_num("AURORA_CHUNK_BYTES", str(1 << 20), int, 4096, 8 << 20)),
            review_threshold=_num("AURORA_REVIEW_THRESHOLD", "0.6", float, 0.0, 1.0),
            metrics_port=int(_num("AURORA_METRICS_PORT", "0", int, 0, 65535)),
            metrics_host=_env("AURORA_METRICS_HOST", "127.0.0.1"),
            rule_support=int(_num("AURORA_RULE_SUPPORT", "3", int, 1, 1000)),
            epsilon_per_day=_num("AURORA_EPSILON_PER_DAY", "1.0", float, 0.0, 100.0),
            dp_mechanism=_choice("AURORA_DP_MECHANISM", "aggregate", ("AGGREGATE", "EXAMPLE")
                                 ).lower(),
            dp_release_users=int(_num("AURORA_DP_RELEASE_USERS", "1000", int, 1, 1_000_000)),
            broker_kind=os.environ.get("AURORA_BROKER_KIND") or None,
            state_key=os.environ.get("AURORA_STATE_KEY") or None,
            chunk_timeout=_num("AURORA_CHUNK_TIMEOUT", "600", float, 0.5),
            token=os.environ.get("AURORA_TOKEN") or None,
            token_lifetime_days=_num("AURORA_TOKEN_LIFETIME_DAYS", "365", float, 0.0001, 36500),
            identity_dir=os.environ.get("AURORA_IDENTITY_DIR") or None,
            identity_public_key=os.environ.get("AURORA_IDENTITY_PUBLIC_KEY") or None,
            identity_signing_key=os.environ.get("AURORA_IDENTITY_SIGNING_KEY") or None,
            identity_cache_seconds=_num("AURORA_IDENTITY_CACHE_SECONDS", "5", float, 0.0, 3600),
            quota_chunk_bytes_per_min=int(_num("AURORA_QUOTA_CHUNK_BYTES_PER_MIN",
                                               str(512 << 20), int, 0)),
            quota_corrections_per_min=int(_num("AURORA_QUOTA_CORRECTIONS_PER_MIN", "600",
                                               int, 0)),
            kafka_security_protocol=_choice("AURORA_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT",
                                            KAFKA_SECURITY_PROTOCOLS),
            kafka_sasl_mechanism=_choice("AURORA_KAFKA_SASL_MECHANISM", "",
                                         ("", *KAFKA_SASL_MECHANISMS)) or None,
            kafka_sasl_username=os.environ.get("AURORA_KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=os.environ.get("AURORA_KAFKA_SASL_PASSWORD") or None,
            kafka_ssl_cafile=os.environ.get("AURORA_KAFKA_SSL_CAFILE") or None,
            kafka_ssl_certfile=os.environ.get("AURORA_KAFKA_SSL_CERTFILE") or None,
            kafka_ssl_keyfile=os.environ.get("AURORA_KAFKA_SSL_KEYFILE") or None,
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
        """Create AURORA_HOME (mode 0700), or tighten an existing one of ours that others
        could read (it holds keys, learned state and tables), and return it."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = self.home.stat()
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            self.home.chmod(0o700)
        return self.home
