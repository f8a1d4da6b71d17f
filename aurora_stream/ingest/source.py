"""Open a CSV source as one binary stream, decompressing transparently.

Compression is recognised by magic bytes (the extension is only a hint), so a
gzip file named ``data.csv`` still reads as CSV and ``-`` reads standard input.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import sys
import zipfile
from collections.abc import Callable
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


RATIO_AFTER = 256 << 20  # decompressed bytes before the ratio is judged (small files pass)


def max_ratio() -> float:
    """``AURORA_MAX_RATIO``: decompressed / compressed bytes a source may reach (200)."""
    return float(os.environ.get("AURORA_MAX_RATIO") or 200)


def max_decompressed() -> int:
    """``AURORA_MAX_DECOMPRESSED_BYTES``: most bytes a compressed source may expand to
    (64 GiB; 0 = no limit)."""
    return int(os.environ.get("AURORA_MAX_DECOMPRESSED_BYTES") or 64 << 30)


class _Counting(io.RawIOBase):
    """Counts the compressed bytes a decompressor reads from ``raw``."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self._raw.read(len(b))
        b[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Bounded(io.RawIOBase):
    """A decompressed stream that stops with ``SourceError`` past the ratio or size limit:
    a decompression bomb is refused after a bounded amount of work, not read to the end."""

    def __init__(self, inner: BinaryIO, compressed: Callable[[], int], name: str) -> None:
        self._inner, self._compressed, self._name = inner, compressed, name
        self._ratio, self._limit, self.out = max_ratio(), max_decompressed(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self._inner.read(len(b))
        b[: len(data)] = data
        self.out += len(data)
        if self._limit and self.out > self._limit:
            raise SourceError(
                f"{self._name}: expands beyond {self._limit:,} bytes "
                "(AURORA_MAX_DECOMPRESSED_BYTES); refused as a possible decompression bomb")
        packed = max(1, self._compressed())
        if self.out > RATIO_AFTER and self.out > self._ratio * packed:
            raise SourceError(
                f"{self._name}: expands more than {self._ratio:g}x ({self.out:,} bytes from "
                f"{packed:,}); refused as a possible decompression bomb (AURORA_MAX_RATIO "
                "raises the limit)")
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


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


def _open_zip(raw: BinaryIO, name: str) -> tuple[BinaryIO, int]:
    """The archive's one member, opened, and its compressed size."""
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
    return archive.open(members[0]), members[0].compress_size  # type: ignore[return-value]


def _wrap(raw: BinaryIO, kind: str, name: str) -> BinaryIO:
    if not kind:
        return raw
    if kind == "zip":
        if not raw.seekable():
            raw = io.BytesIO(raw.read())  # zip needs its central directory at the end
        inner, size = _open_zip(raw, name)
        compressed: Callable[[], int] = lambda: size  # noqa: E731 - from the directory
    else:
        counting = _Counting(raw)
        packed_in = io.BufferedReader(counting, buffer_size=1 << 16)
        compressed = lambda: counting.count  # noqa: E731
        if kind == "gz":
            inner = gzip.GzipFile(fileobj=packed_in, mode="rb")  # type: ignore[assignment]
        elif kind == "bz2":
            inner = bz2.BZ2File(packed_in, mode="rb")  # type: ignore[assignment]
        else:  # zst
            inner = zstandard.ZstdDecompressor().stream_reader(  # type: ignore[assignment]
                packed_in, read_across_frames=True)
    bounded = _Bounded(inner, compressed, name)
    return io.BufferedReader(bounded, buffer_size=1 << 20)  # type: ignore[return-value]


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
