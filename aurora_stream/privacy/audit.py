"""The privacy audit: search everything after the parse stage for planted canary values.

It looks through every message of every non-raw topic (read to the high watermark that
fetch responses report, never to ListOffsets end offsets), every file under a state
directory, and every Redis key and value. Containers are opened, not trusted: base64
strings inside JSON and zstd frames inside blobs are decoded and searched too, so a
canary hidden in a serialized sketch or a compressed model is still found.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_B64 = re.compile(rb"^[A-Za-z0-9+/=_-]{16,}$")


@dataclass
class Finding:
    where: str  # "topic aurora.recommendations[2]@17", "file ...", "redis key ..."
    needle: str


@dataclass
class AuditReport:
    searched: dict[str, int] = field(default_factory=dict)  # place -> items searched
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def needle_forms(canaries: Iterable[str]) -> list[bytes]:
    """The byte forms a canary could take (matched case-insensitively): text, JSON-escaped."""
    forms: set[bytes] = set()
    for c in canaries:
        text = c.casefold()
        forms.add(text.encode("utf-8"))
        forms.add(orjson.dumps(text)[1:-1])
    return sorted(forms)


def _expand(blob: bytes, depth: int = 0) -> Iterable[bytes]:
    """The blob and every layer inside it (JSON strings as base64, zstd frames)."""
    yield blob
    if depth >= 4 or not blob:
        return
    pos = blob.find(ZSTD_MAGIC)
    while pos != -1:
        try:
            inner = zstandard.ZstdDecompressor().decompressobj().decompress(blob[pos:])
            yield from _expand(inner, depth + 1)
        except zstandard.ZstdError:
            pass
        pos = blob.find(ZSTD_MAGIC, pos + 1)
    try:
        doc = orjson.loads(blob)
    except orjson.JSONDecodeError:
        doc = None
    if doc is not None:
        for s in _strings(doc):
            b = s.encode("utf-8", errors="ignore")
            if _B64.match(b):
                for decode in (base64.b64decode, base64.urlsafe_b64decode):
                    try:
                        yield from _expand(decode(b + b"=" * (-len(b) % 4)), depth + 1)
                        break
                    except (binascii.Error, ValueError):
                        continue
    elif _B64.match(blob.strip()):
        try:
            yield from _expand(base64.b64decode(blob.strip()), depth + 1)
        except (binascii.Error, ValueError):
            pass


def _strings(doc: object) -> Iterable[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def search_blob(blob: bytes, needles: Sequence[bytes]) -> set[bytes]:
    """Which needles occur in the blob or anything decoded from it (case-insensitive)."""
    hits: set[bytes] = set()
    for layer in _expand(blob):
        low = layer.lower()
        hits.update(n for n in needles if n.lower() in low)
    return hits


def scan_directory(root: Path, needles: Sequence[bytes], report: AuditReport) -> None:
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    report.searched[f"files under {root}"] = len(files)
    for path in files:
        for n in search_blob(path.read_bytes(), needles):
            report.findings.append(Finding(f"file {path}", n.decode("utf-8", "replace")))


def scan_redis(url: str, needles: Sequence[bytes], report: AuditReport) -> None:
    import redis

    r = redis.Redis.from_url(url)
    n = 0
    for key in r.scan_iter(count=1000):
        n += 1
        kind = r.type(key).decode()
        parts: list[bytes] = [key]
        if kind == "string":
            parts.append(r.get(key) or b"")
        elif kind == "hash":
            parts.extend(b for kv in r.hgetall(key).items() for b in kv)
        elif kind in ("list",):
            parts.extend(r.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(r.smembers(key))
        elif kind == "zset":
            parts.extend(m for m, _ in r.zrange(key, 0, -1, withscores=True))
        for part in parts:
            for hit in search_blob(part, needles):
                report.findings.append(
                    Finding(f"redis key {key!r}", hit.decode("utf-8", "replace"))
                )
    report.searched[f"redis keys at {url}"] = n


async def scan_topics(
    bootstrap: str,
    needles: Sequence[bytes],
    report: AuditReport,
    exclude: set[str],
    idle: float = 2.0,
) -> None:
    """Read every partition of every topic not in ``exclude`` to its high watermark."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=16 << 20,
        max_partition_fetch_bytes=16 << 20,
    )
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t not in exclude)
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        counts = dict.fromkeys(topics, 0)
        quiet_since = asyncio.get_running_loop().time()
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            now = asyncio.get_running_loop().time()
            for tp, msgs in batch.items():
                quiet_since = now
                for m in msgs:
                    counts[tp.topic] += 1
                    for part in (m.key or b"", m.value or b""):
                        for hit in search_blob(part, needles):
                            report.findings.append(
                                Finding(
                                    f"topic {tp.topic}[{tp.partition}]@{m.offset}",
                                    hit.decode("utf-8", "replace"),
                                )
                            )
            done = True
            for tp in tps:
                hw = consumer.highwater(tp)
                if hw is None or await consumer.position(tp) < hw:
                    done = False
            if done or now - quiet_since > idle:
                break
        for t, c in counts.items():
            report.searched[f"topic {t}"] = c
    finally:
        await consumer.stop()
