"""Credentials are JWTs signed with Ed25519 (EdDSA): whoever verifies needs only the public
key. Claims: ``sub`` (the user), ``iat``, ``exp``, ``jti`` (names one credential, so it can be
revoked alone) and ``aud`` = ``aurora``.

Keys: ``AURORA_IDENTITY_SIGNING_KEY`` / ``AURORA_IDENTITY_PUBLIC_KEY`` (PEM files), else
AURORA_HOME/identity/signing.key and signing.pub, made on first use (0600).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aurora_stream.config import Settings
from aurora_stream.identity.files import check_name, identity_dir, write_private

TOKEN_HEADER = "aurora-token"  # the Kafka header every client event carries
AUDIENCE = "aurora"
ALGORITHM = "EdDSA"


def _home_keys(settings: Settings) -> tuple[Path, Path]:
    d = identity_dir(settings)
    return d / "signing.key", d / "signing.pub"


@contextmanager
def home_lock(settings: Settings):
    """An flock on AURORA_HOME/identity/issue.lock: concurrent first runs (three `aurora run`
    at once on a fresh home) make one key pair and one default credential, not several."""
    fd = os.open(identity_dir(settings) / "issue.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _make_keys(settings: Settings) -> None:
    priv_path, pub_path = _home_keys(settings)
    with home_lock(settings):
        if priv_path.exists():
            return  # another process made them while we waited
        _write_keys(priv_path, pub_path)


def _write_keys(priv_path: Path, pub_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    write_private(pub_path, pub)  # first: a signing.key always has its signing.pub
    write_private(priv_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))


def _read_pem(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the {what} {path}: {exc.strerror}") from None


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key credentials are signed with (made in AURORA_HOME on first use)."""
    if settings.identity_signing_key:
        path = Path(settings.identity_signing_key).expanduser()
    else:
        path, _ = _home_keys(settings)
        if not path.exists():
            _make_keys(settings)
    key = serialization.load_pem_private_key(_read_pem(path, "signing key"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def public_key(settings: Settings) -> Ed25519PublicKey:
    """The key workers verify with: AURORA_IDENTITY_PUBLIC_KEY, else the home's (made on
    first use, with its signing key, so the embedded default needs no set-up)."""
    if settings.identity_public_key:
        path = Path(settings.identity_public_key).expanduser()
    else:
        priv, path = _home_keys(settings)
        if not path.exists() and not priv.exists() and not settings.identity_signing_key:
            _make_keys(settings)
        elif not path.exists() and settings.identity_signing_key:
            return signing_key(settings).public_key()
    key = serialization.load_pem_public_key(_read_pem(path, "public key"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class Issued:
    """One credential: whose, its id, when it was issued and when it expires (epoch s)."""

    user: str
    jti: str
    issued_at: float
    expires_at: float
    revoked: bool = False

    def as_dict(self) -> dict:
        return {"user": self.user, "jti": self.jti, "issued_at": self.issued_at,
                "expires_at": self.expires_at, "revoked": self.revoked}


class Issuer:
    """Signs credentials and records them in the registry (``aurora users add``)."""

    def __init__(self, key: Ed25519PrivateKey, registry, lifetime_s: float) -> None:
        self.key = key
        self.registry = registry
        self.lifetime_s = lifetime_s

    @classmethod
    def from_settings(cls, settings: Settings) -> Issuer:
        from aurora_stream.identity.registry import Registry

        return cls(signing_key(settings), Registry.from_settings(settings),
                   settings.token_lifetime_days * 86400.0)

    def issue(self, user: str, lifetime_s: float | None = None) -> tuple[str, Issued]:
        """A new signed credential for ``user``, registered before it is returned."""
        check_name(user)
        now = int(time.time())
        exp = now + max(1, int(lifetime_s if lifetime_s is not None else self.lifetime_s))
        issued = Issued(user, uuid.uuid4().hex, float(now), float(exp))
        self.registry.add(issued)
        token = jwt.encode({"sub": user, "iat": now, "exp": exp, "jti": issued.jti,
                            "aud": AUDIENCE}, self.key, algorithm=ALGORITHM)
        return token, issued


def unverified_claims(token: str) -> dict:
    """The claims of a token without checking it (for client-side messages only)."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
