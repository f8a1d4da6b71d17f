"""Privacy proof: planted canary values and column names appear nowhere after the parse stage.

Raw and edge mode both run through the real broker, a real worker, a real Redis cache and
a correction through the learn agent; then every non-raw topic (and changelog), every
Redis key and value and every file under AURORA_HOME is searched, with base64 and zstd
layers opened.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from aurora_stream.client.consume import ResultCollector
from aurora_stream.client.publish import new_dataset_id, publish_file
from aurora_stream.config import Settings
from aurora_stream.privacy.audit import (
    AuditReport,
    needle_forms,
    scan_directory,
    scan_redis,
    scan_topics,
    search_blob,
)
from aurora_stream.service.worker import Worker
from aurora_stream.wire.topics import raw_topics

CANARY_NAMES = ["zqxcanaryname", "Vwkcanaryemailcol"]
CANARY_STRINGS = ["CANARYmxq7v4lue", "plover-canary-9d2e"]
CANARY_NUMBERS = ["73519.8642", "918273645"]


def canary_csv(path: Path) -> Path:
    rng = random.Random(5)
    lines = [f"{CANARY_NAMES[0]},city,{CANARY_NAMES[1]},amount,count"]
    for i in range(300):
        label = CANARY_STRINGS[i % 2] if i in (17, 230) else rng.choice(["red", "green", "blue"])
        amount = CANARY_NUMBERS[0] if i == 41 else f"{rng.uniform(10, 900):.2f}"
        count = CANARY_NUMBERS[1] if i == 99 else str(rng.randint(1, 50))
        email = f"{CANARY_STRINGS[1]}@x.org" if i == 7 else f"u{i}@example.com"
        lines.append(f"{label},{rng.choice(['Oslo', 'Lima'])},{email},{amount},{count}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_needles_cover_every_form() -> None:
    forms = needle_forms(["Abc"])
    assert b"abc" in forms
    assert search_blob(b"..ABC..", forms) == {b"abc"}


@pytest.mark.timeout(180)
def test_canaries_never_leave_the_parse_stage(broker, redis_url, aurora_home, tmp_path) -> None:
    settings = Settings.from_env(broker=broker.url, home=aurora_home, redis_url=redis_url,
                                 app_id="canary-audit", user="canary-user",
                                 state_key="c4" * 32)  # shared state in Redis: one key
    csv = canary_csv(tmp_path / "canary.csv")
    canaries = CANARY_NAMES + CANARY_STRINGS + CANARY_NUMBERS

    async def scenario() -> AuditReport:
        worker = await Worker(settings, broker.url).start()
        try:
            collector = await ResultCollector(broker.bootstrap, from_start=False).start()
            try:
                for edge in (False, True):
                    ds = new_dataset_id("canary")
                    await publish_file(csv, broker.bootstrap, dataset_id=ds,
                                       user_id=settings.user, edge=edge)
                    recs = await collector.wait(ds, timeout=90, with_rejected=not edge)
                    assert len(recs) == 5
            finally:
                await collector.stop()
        finally:
            await worker.stop()
        report = AuditReport()
        needles = needle_forms(canaries)
        await scan_topics(broker.bootstrap, needles, report, exclude=raw_topics())
        scan_redis(redis_url, needles, report)
        scan_directory(aurora_home, needles, report)
        return report

    report = asyncio.run(scenario())
    searched_topics = [k for k in report.searched if k.startswith("topic ")]
    assert "topic aurora.recommendations" in searched_topics
    assert "topic aurora.column-chunks" in searched_topics
    assert any("changelog" in k for k in searched_topics), searched_topics
    assert report.searched["topic aurora.column-chunks"] > 0
    assert any(k.startswith("redis keys") and v > 0 for k, v in report.searched.items())
    assert report.findings == []


def test_the_audit_finds_a_planted_canary(tmp_path) -> None:
    """The scanner itself works: a canary inside base64 inside JSON inside zstd is found."""
    import base64

    import orjson
    import zstandard

    inner = orjson.dumps({"s": base64.b64encode(b"xx CANARYmxq7v4lue yy").decode()})
    (tmp_path / "blob.bin").write_bytes(b"HDR" + zstandard.ZstdCompressor().compress(inner))
    report = AuditReport()
    scan_directory(tmp_path, needle_forms(["CANARYmxq7v4lue"]), report)
    assert [f.needle for f in report.findings] == ["canarymxq7v4lue"]
