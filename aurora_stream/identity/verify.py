"""The check every agent makes on every event: who signed it.

    verifier = Verifier.from_settings(settings)          # once per worker
    user = verifier.user_of(event.headers, claimed_user=chunk.user_id)   # per event
    # IdentityRefused: dead-letter the event with str(exc) as the reason, learn nothing.

A valid token is cached for ``AURORA_IDENTITY_CACHE_SECONDS`` (default 5 s): signature and
registry are checked once per token and window, so a revocation takes effect within that
window on every worker (Redis registry) and the per-event cost is a dict lookup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import jwt

from aurora_stream.config import Settings
from aurora_stream.identity.registry import OK, REVOKED, Registry
from aurora_stream.identity.tokens import ALGORITHM, AUDIENCE, TOKEN_HEADER, public_key

MAX_TOKEN = 4096  # bytes; a credential is about 300
CACHE_MAX = 10_000
_REQUIRED = ["sub", "iat", "exp", "jti", "aud"]


class IdentityRefused(ValueError):
    """The event is not signed by the user it claims; the message is the dead-letter reason
    (one line, never the token)."""


class RegistryUnavailable(IdentityRefused):
    """The token verifies but the registry (revocation) cannot be read right now."""


Headers = Sequence[tuple[str, bytes]] | Mapping[str, bytes] | None


def token_of(headers: Headers) -> bytes | None:
    """The ``aurora-token`` header's value (the last one if repeated), or None."""
    if not headers:
        return None
    if isinstance(headers, Mapping):
        value = headers.get(TOKEN_HEADER)
    else:
        value = None
        for name, v in headers:
            if (name.decode("latin-1") if isinstance(name, bytes) else name) == TOKEN_HEADER:
                value = v
    if isinstance(value, str):
        value = value.encode("utf-8", "replace")
    return value


def _short(user: object) -> str:
    text = repr(user)
    return text if len(text) <= 60 else text[:57] + "..."


class Verifier:
    """Verifies ``aurora-token`` headers with the issuer's public key and the registry."""

    def __init__(self, key, registry: Registry, cache_seconds: float = 5.0,
                 leeway: float = 30.0) -> None:
        self.key = key
        self.registry = registry
        self.cache_seconds = cache_seconds
        self.leeway = leeway
        # token -> (user, trusted until, its expiry); an entry past its window is kept as
        # the last known good answer for a registry outage (see user_of)
        self._cache: dict[bytes, tuple[str, float, float]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        """Public key from AURORA_IDENTITY_PUBLIC_KEY or AURORA_HOME; registry in Redis when
        AURORA_REDIS_URL is set, else in AURORA_HOME."""
        return cls(public_key(settings), Registry.from_settings(settings),
                   settings.identity_cache_seconds)

    def user_of(self, headers: Headers, claimed_user: str | None) -> str:
        """The authenticated user id; raises IdentityRefused for unsigned, forged, expired,
        revoked tokens, or a claimed user_id that differs from the token's subject."""
        token = token_of(headers)
        if not token:
            raise IdentityRefused(f"unsigned event: no {TOKEN_HEADER} header")
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None and now < hit[1]:
            user = hit[0]
        else:
            try:
                user, exp = self._check(token)
            except RegistryUnavailable:
                # Signature and expiry verified, the registry unreadable (Redis down): a
                # token this worker already found live stays admitted, as nothing can be
                # revoked while the registry cannot be written either; one never checked
                # is refused. The registry is asked again after the cache window.
                if hit is None:
                    raise
                user, exp = hit[0], hit[2]
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            self._cache[token] = (user, min(now + self.cache_seconds, exp), exp)
        if claimed_user is not None and claimed_user != user:
            raise IdentityRefused(f"event claims user_id {_short(claimed_user)} but is signed "
                                  f"by {_short(user)}")
        return user

    def _check(self, token: bytes) -> tuple[str, float]:
        if len(token) > MAX_TOKEN:
            raise IdentityRefused(f"{TOKEN_HEADER} header is longer than {MAX_TOKEN} bytes")
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                leeway=self.leeway, options={"require": _REQUIRED})
        except jwt.ExpiredSignatureError:
            raise IdentityRefused("expired token") from None
        except jwt.InvalidSignatureError:
            raise IdentityRefused("forged token: the signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise IdentityRefused(f"token is not for audience {AUDIENCE!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise IdentityRefused(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAlgorithmError:
            raise IdentityRefused(f"token is not signed with {ALGORITHM}") from None
        except jwt.ImmatureSignatureError:
            raise IdentityRefused("token is not valid yet (iat in the future)") from None
        except jwt.PyJWTError as exc:
            raise IdentityRefused(f"malformed token ({type(exc).__name__})") from None
        user, jti = claims["sub"], claims["jti"]
        if not isinstance(user, str) or not isinstance(jti, str) or not user or not jti:
            raise IdentityRefused("token's sub and jti must be non-empty strings")
        try:
            status = self.registry.status(jti, user)
        except Exception as exc:  # a registry we cannot read never admits a token unseen
            raise RegistryUnavailable(f"cannot check revocation ({type(exc).__name__})"
                                      ) from None
        if status == REVOKED:
            raise IdentityRefused(f"revoked credential of {_short(user)}")
        if status != OK:
            raise IdentityRefused(f"credential of {_short(user)} was not issued by this "
                                  "registry")
        return user, float(claims["exp"])
