"""Private files of the identity layer in AURORA_HOME/identity (dir 0700, files 0600)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from aurora_stream.config import Settings

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


def check_name(name: str) -> str:
    """A user name: letters, digits and ``._@+-``, at most 100 characters."""
    if not NAME.match(name or ""):
        raise ValueError(f"invalid user name {name[:40]!r}: use letters, digits and ._@+- "
                         "(at most 100 characters, starting with a letter or digit)")
    return name


def identity_dir(settings: Settings) -> Path:
    """AURORA_HOME/identity, created 0700 (and the home itself 0700); or
    ``AURORA_IDENTITY_DIR``: one directory of keys, registry and credentials that several
    processes with their own homes share (workers on one machine, a test session)."""
    if settings.identity_dir:
        d = Path(settings.identity_dir).expanduser()
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        d = settings.ensure_home() / "identity"
        d.mkdir(mode=0o700, exist_ok=True)
    if d.stat().st_mode & 0o077:
        d.chmod(0o700)
    return d


def credentials_dir(settings: Settings) -> Path:
    d = identity_dir(settings) / "credentials"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with mode 0600 (never readable by others,
    not even for an instant)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
