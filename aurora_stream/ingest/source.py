"""Open a CSV source as one binary stream, decompressing transparently.

Compression is recognised by magic bytes (the extension is only a hint), so a
gzip file named ``data.csv`` still reads as CSV and ``-`` reads standard input.
"""

from __future__ import annotations

import bz2
import gzip
import io
import sys
import zipfile
from pathlib import Path
from typing import BinaryIO

import zstandard

MAGIC = {
    b"\x1f\x8b": "gz",
    b"BZh": "bz2",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # empty archive
    b"\x28\xb5\x2f\xfd": "zst",
}


class SourceError(ValueError):
    """The source cannot be read as one CSV stream (bad archive, missing file ...)."""


def compression_of(head: bytes) -> str:
    """Return "gz", "bz2", "zip", "zst" or "" from the first bytes of a file."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    return ""


class _Prefixed(io.RawIOBase):
    """A stream that first replays ``head`` then continues with ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def prepend(head: bytes, rest: BinaryIO) -> BinaryIO:
    """Return a buffered stream reading ``head`` then ``rest`` (to re-read a peeked head)."""
    return io.BufferedReader(_Prefixed(head, rest), buffer_size=1 << 20)  # type: ignore[return-value]


def _open_zip(raw: BinaryIO, name: str) -> BinaryIO:
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{name}: not a readable zip archive ({exc})") from exc
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        listed = ", ".join(m.filename for m in members[:5]) or "none"
        raise SourceError(
            f"{name}: a zip source must hold exactly one file, found {len(members)} ({listed})"
        )
    return archive.open(members[0])  # type: ignore[return-value]


def _wrap(raw: BinaryIO, kind: str, name: str) -> BinaryIO:
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "zst":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)  # type: ignore[arg-type,return-value]
    if kind == "zip":
        if not raw.seekable():
            raw = io.BytesIO(raw.read())  # zip needs its central directory at the end
        return _open_zip(raw, name)
    return raw


def open_source(source: str | Path | BinaryIO) -> BinaryIO:
    """Open a path, ``"-"`` (stdin) or a binary stream; decompress gz/bz2/zip/zst by magic bytes.

    Raises ``SourceError`` for a missing file or an archive that is not exactly one member.
    """
    if isinstance(source, str | Path):
        name = str(source)
        if name == "-":
            raw: BinaryIO = sys.stdin.buffer
        else:
            try:
                raw = open(source, "rb")  # noqa: SIM115 - caller owns the stream
            except OSError as exc:
                raise SourceError(f"{name}: cannot open ({exc.strerror})") from exc
    else:
        name = getattr(source, "name", "<stream>")
        raw = source
    if raw.seekable():
        pos = raw.tell()
        head = raw.read(4)
        raw.seek(pos)
    else:
        head = raw.read(4)
        raw = prepend(head, raw)
    kind = compression_of(head)
    try:
        return _wrap(raw, kind, str(name))
    except SourceError:
        raw.close()
        raise


def is_plain_file(source: str | Path) -> bool:
    """True when ``source`` is an uncompressed regular file (so samples can be read by seeking)."""
    path = Path(source)
    if str(source) == "-" or not path.is_file():
        return False
    with open(path, "rb") as fh:
        return compression_of(fh.read(4)) == ""
