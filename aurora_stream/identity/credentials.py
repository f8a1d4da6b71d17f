"""The client side: which credential a client sends, and the header that carries it.

Order: ``AURORA_TOKEN`` (settings.token); else AURORA_HOME/identity/credentials/USER.jwt;
else, for an embedded home, a credential issued on the spot by this home's key (the
``default`` user needs no set-up). The CLI allows that last step for ``default`` only, so a
``--user`` nobody added is a clear error.
"""

from __future__ import annotations

import time

from aurora_stream.config import Settings
from aurora_stream.identity.files import check_name, credentials_dir, write_private
from aurora_stream.identity.tokens import (
    TOKEN_HEADER,
    Issuer,
    home_lock,
    signing_key,
    unverified_claims,
)


class NoCredential(ValueError):
    """No usable credential for the user (one line, says what to run)."""


def save_credential(settings: Settings, user: str, token: str) -> None:
    write_private(credentials_dir(settings) / f"{check_name(user)}.jwt", token.encode())


def issue_and_save(settings: Settings, user: str) -> str:
    token, _ = Issuer.from_settings(settings).issue(user)
    save_credential(settings, user, token)
    return token


def credential_for(settings: Settings, user: str | None = None, *,
                   issue: bool | None = None) -> str:
    """The token a client of ``user`` (default settings.user) sends.

    ``issue``: may a missing credential be issued with this home's key? None = only for
    the ``default`` user of an embedded home.
    """
    user = user or settings.user
    if settings.token:
        sub = unverified_claims(settings.token).get("sub")
        if sub != user:
            raise NoCredential(f"AURORA_TOKEN is a credential of {sub!r}, not of {user!r}")
        return _usable(settings.token, user)
    check_name(user)
    path = credentials_dir(settings) / f"{user}.jwt"
    if path.exists():
        return _usable(path.read_text().strip(), user)
    if issue is None:
        issue = user == "default" and settings.embedded
    if issue:
        signing_key(settings)  # the key pair first (it takes the same lock itself)
        with home_lock(settings):
            if path.exists():  # another process issued it while we waited
                return _usable(path.read_text().strip(), user)
            return issue_and_save(settings, user)
    raise NoCredential(f"no credential for user {user!r} in {settings.home}: run "
                       f"`aurora users add {user}` (or set AURORA_TOKEN)")


def _usable(token: str, user: str) -> str:
    exp = unverified_claims(token).get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise NoCredential(f"the credential of {user!r} expired on "
                           f"{time.strftime('%Y-%m-%d', time.gmtime(exp))}: run "
                           f"`aurora users add {user}` for a new one")
    return token


def token_headers(token: str) -> list[tuple[str, bytes]]:
    """The Kafka headers of an event sent with ``token``."""
    return [(TOKEN_HEADER, token.encode())]
