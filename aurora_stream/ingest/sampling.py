"""Read byte samples spread over a whole file and detect its text encoding.

Sampling seeks (head, evenly spaced middle offsets, tail) so that a file whose
first megabytes are ASCII and whose accented bytes sit near the end is still
detected right, without ever reading the whole file.
"""

from __future__ import annotations

import codecs
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import charset_normalizer

from aurora_stream.ingest.source import SourceError, compression_of, open_source

N_MIDDLE = 4            # middle samples of a seekable file
MAX_STREAM_SCAN = 1 << 28  # decompressed bytes scanned at most for a compressed source
MAX_KEPT = 8            # middle blocks kept while thinning a stream


@dataclass(frozen=True)
class Sample:
    """Raw bytes of one sample; ``cut_start``/``cut_end``: it may begin/end mid-line."""

    data: bytes
    cut_start: bool
    cut_end: bool


def _plain_samples(fh: BinaryIO, size: int, n: int) -> list[Sample]:
    if size <= n * (N_MIDDLE + 2):
        return [Sample(fh.read(), False, False)]
    out = [Sample(fh.read(n), False, True)]
    for i in range(1, N_MIDDLE + 1):
        offset = (size * i // (N_MIDDLE + 1)) & ~3  # multiple of 4: UTF-16/32 units aligned
        fh.seek(offset)
        out.append(Sample(fh.read(n), True, True))
    fh.seek(max(0, size - n) & ~3)
    out.append(Sample(fh.read(), True, False))
    return out


def _stream_samples(stream: BinaryIO, n: int) -> list[Sample]:
    """Samples from a non-seekable stream: head, evenly thinned middle blocks, the last block."""
    head = stream.read(n)
    kept: list[bytes] = []
    stride, index, scanned, last = 1, 0, len(head), b""
    while scanned < MAX_STREAM_SCAN:
        block = stream.read(n)
        if not block:
            break
        scanned += len(block)
        if last and index % stride == 0:
            kept.append(last)
            if len(kept) > MAX_KEPT:
                kept, stride = kept[::2], stride * 2
        last, index = block, index + 1
    tail_cut = scanned >= MAX_STREAM_SCAN
    if not last:
        return [Sample(head, False, tail_cut)]
    return (
        [Sample(head, False, True)]
        + [Sample(b, True, True) for b in kept]
        + [Sample(last, True, tail_cut)]
    )


def read_samples(source: str | Path | bytes, sample_bytes: int) -> list[Sample]:
    """Samples of ``source`` (path, bytes); the head sample comes first."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if compression_of(data[:4]):
            with open_source(io.BytesIO(data)) as stream:
                return _read_stream(stream, sample_bytes)
        return _plain_samples(io.BytesIO(data), len(data), sample_bytes)
    if str(source) == "-":
        raise SourceError("sniff cannot rewind stdin: read its head and use sniff(bytes)")
    path = Path(source)
    try:
        with open(path, "rb") as fh:
            if compression_of(fh.read(4)) == "":
                fh.seek(0)
                return _plain_samples(fh, os.fstat(fh.fileno()).st_size, sample_bytes)
    except OSError as exc:
        raise SourceError(f"{path}: cannot open ({exc.strerror})") from exc
    with open_source(path) as stream:
        return _read_stream(stream, sample_bytes)


def _read_stream(stream: BinaryIO, sample_bytes: int) -> list[Sample]:
    try:
        return _stream_samples(stream, sample_bytes)
    except (OSError, EOFError, ValueError) as exc:
        raise SourceError(f"cannot decompress source: {exc}") from exc
    except Exception as exc:  # zstandard.ZstdError and friends
        raise SourceError(f"cannot decompress source: {exc}") from exc


# --- encoding -------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)
_FAMILY = {
    "ascii": "utf-8", "utf_8": "utf-8",
    "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030",
    "cp932": "shift_jis", "shift_jis_2004": "shift_jis", "shift_jisx0213": "shift_jis",
}
_WESTERN = {"latin_1", "iso8859_15", "cp1252", "mac_roman", "iso8859_1", "cp850", "cp437",
            "iso8859_9", "cp1254", "iso8859_14", "mac_latin2", "cp1250", "iso8859_2",
            "iso8859_3", "iso8859_4", "iso8859_10", "iso8859_13", "cp1257", "iso8859_16"}


def _utf16_without_bom(head: bytes) -> str:
    h = head[:4096]
    if len(h) < 8:
        return ""
    half = len(h) // 2
    even, odd = h[0::2].count(0), h[1::2].count(0)
    if odd > 0.6 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.6 * half and odd < 0.05 * half:
        return "utf-16-be"
    return ""


def _non_ascii_lines(samples: list[Sample], cap: int = 1 << 18) -> bytes:
    found: list[bytes] = []
    total = 0
    for s in samples:
        lines = s.data.split(b"\n")
        lines = lines[1 if s.cut_start else 0: -1 if s.cut_end and len(lines) > 1 else None]
        for ln in lines:
            if not ln.isascii():
                found.append(ln)
                total += len(ln) + 1
                if total > cap:
                    return b"\n".join(found)
    return b"\n".join(found)


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(blob: bytes) -> bool:
    """Valid UTF-8 apart from a few corrupt bytes (those are reported, not re-guessed).
    Valid UTF-8 is UTF-8 even when it holds literal U+FFFD characters."""
    if _decodes(blob, "utf-8"):
        return True
    text = blob.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return bad == 0 or good >= 3 * bad


def _single_byte(codec: str) -> bool:
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except LookupError:
        return False


def _looks_western(blob: bytes) -> bool:
    """cp1252 decodes it and accented letters sit inside ASCII words ("café", not "Ïðèâåò")."""
    try:
        text = blob.decode("cp1252")
    except UnicodeDecodeError:
        return False
    inside = total = 0
    for i, ch in enumerate(text):
        if ord(ch) > 127 and ch.isalpha():
            total += 1
            near = text[max(0, i - 1): i] + text[i + 1: i + 2]
            inside += any(c.isascii() and c.isalpha() for c in near)
    return total == 0 or inside >= 0.5 * total


_CENTRAL = ("cp1250", "iso8859_2")


def _broken_words(text: str) -> int:
    """Non-ASCII symbols (not letters) glued to letters: "Wroc³aw", "Gda¹sk" (a wrong codec)."""
    n = 0
    for i, ch in enumerate(text):
        if ord(ch) > 127 and not ch.isalpha() and ch not in "\u00a0\ufffd":
            near = text[max(0, i - 1): i] + text[i + 1: i + 2]
            n += any(c.isalpha() for c in near)
    return n


def _central_european(blob: bytes, detected: str) -> str:
    """cp1252 for western text, but Polish/Czech text (cp1250, ISO-8859-2) is kept as such:
    the codec whose decoding breaks the fewest words wins; cp1252 on a tie."""
    best, best_n = "cp1252", _broken_words(blob.decode("cp1252", errors="replace"))
    for codec in _CENTRAL if detected not in _CENTRAL else (detected,) + _CENTRAL:
        if best_n == 0 or not _decodes(blob, codec):
            continue
        n = _broken_words(blob.decode(codec))
        if n < best_n:
            best, best_n = codec, n
    return best


def detect_encoding(samples: list[Sample]) -> tuple[str, str]:
    """Return (codec for the whole file, codec for decoding a sample taken mid-file)."""
    head = samples[0].data
    for bom, codec, sample_codec in _BOMS:
        if head.startswith(bom):
            return codec, sample_codec
    wide = _utf16_without_bom(head)
    if wide:
        return wide, wide
    blob = _non_ascii_lines(samples)
    if not blob or _mostly_utf8(blob):
        return "utf-8", "utf-8"
    best = charset_normalizer.from_bytes(blob).best()
    name = best.encoding if best is not None else "cp1252"
    name = _FAMILY.get(name, name)
    if name.startswith(("utf_16", "utf_32")):  # no BOM and no NUL pattern: not wide text
        name = "cp1252"
    if (name in _WESTERN or _single_byte(name)) and _looks_western(blob):
        name = _central_european(blob, name)
    if name == "shift_jis" and not _decodes(blob, "shift_jis"):
        name = "cp932"
    codec = codecs.lookup(name).name.lower()
    return codec, codec


def decode_sample(sample: Sample, codec: str) -> str:
    """Decode one sample, dropping partial first/last lines (at code-unit aligned newlines)."""
    data = sample.data
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        unit = 2 if codec.startswith("utf-16") else 4
        data = data[: len(data) - len(data) % unit]
        text = data.decode(codec, errors="replace")
    else:
        text = data.decode(codec, errors="replace")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if sample.cut_start:
        text = text[text.find("\n") + 1:] if "\n" in text else ""
    if sample.cut_end:
        text = text[: text.rfind("\n") + 1]
    return text
