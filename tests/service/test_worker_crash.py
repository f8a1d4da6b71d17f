"""A worker SIGKILLed in the middle of a file loses no recommendation: a new worker with the
same AURORA_HOME (SQLite table store) and consumer group finishes every column."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from service_helpers import (
    Recommendations,
    WorkerProcess,
    assert_one_valid_per_column,
    unique,
    wide_csv,
)

from aurora_stream.client.publish import publish_file
from aurora_stream.profile.progress import ColumnProgress


async def _wait_column_chunks(bootstrap: str, dataset_id: str, target: int,
                              timeout: float) -> int:
    """Count column-chunk events of the dataset until ``target`` (the crash point) is reached."""
    kafka = AIOKafkaConsumer("aurora.column-chunks", bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest")
    await kafka.start()
    seen = 0
    try:
        deadline = time.monotonic() + timeout
        needle = f'"dataset_id":"{dataset_id}"'.encode()
        while seen < target and time.monotonic() < deadline:
            batch = await kafka.getmany(timeout_ms=100, max_records=5000)
            seen += sum(needle in m.value for msgs in batch.values() for m in msgs)
    finally:
        await kafka.stop()
    return seen


@pytest.mark.timeout(240)
def test_sigkilled_worker_loses_no_recommendation(broker, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    header = wide_csv(path, rows=12_000, seed=11)
    home = tmp_path / "home"
    app_id = unique("t-crash")
    verbose = {"AURORA_LOG_LEVEL": "INFO"}  # the logs are kept for a failure's message
    first = WorkerProcess(broker.url, home, app_id, extra_env=verbose)
    second = WorkerProcess(broker.url, home, app_id, extra_env=verbose)

    async def main():
        first.start()
        await first.ready()
        async with Recommendations(broker.bootstrap) as reader:
            dataset_id = unique("crash")
            pub = await publish_file(path, broker.bootstrap, dataset_id=dataset_id,
                                     user_id="tester", chunk_bytes=8192)
            total = pub.chunks * len(header)
            flowed = await _wait_column_chunks(broker.bootstrap, dataset_id, total // 3, 60)
            first.kill()
            await reader.poll(timeout_ms=50)
            before = len(reader.distinct(dataset_id))
            second.start()
            await second.ready(timeout=90)
            got = await reader.until_columns(dataset_id, len(header), timeout=120, settle=2.0)
            in_topic = {} if len(got) == len(header) else await _seqs_in_topic(
                broker.bootstrap, dataset_id)
            return pub, total, flowed, before, got, reader.messages.get(dataset_id, []), in_topic

    try:
        pub, total, flowed, before, got, messages, in_topic = asyncio.run(main())
    finally:
        first.kill()
        second.stop()
    assert pub.chunks >= 50
    assert 0 < flowed < total, "the crash did not happen mid-file"
    assert before < len(header), "every column was done before the crash"
    missing = sorted(set(range(len(header))) - {r.column for r in got.values()})
    assert not missing, (
        f"columns {missing} never got a recommendation after the crash "
        f"({flowed}/{total} column-chunks had flowed); chunk seqs missing from "
        f"aurora.column-chunks per column: {_missing(in_topic, pub.chunks)}; state in {home}:\n"
        f"{_profiles_state(home)}\nworker logs: {first.log_path} {second.log_path}\n"
        f"{_log_problems(first)}\n{_log_problems(second)}")
    assert_one_valid_per_column(got.values(), len(header))
    assert {r.rows for r in got.values()} == {12_000}
    print(f"crash after {flowed}/{total} column-chunks; {len(messages) - len(got)} duplicates")


async def _seqs_in_topic(bootstrap: str, dataset_id: str) -> dict[int, set[int]]:
    """column -> chunk seqs present on aurora.column-chunks (read until quiet for 3 s)."""
    kafka = AIOKafkaConsumer("aurora.column-chunks", bootstrap_servers=bootstrap, group_id=None,
                             auto_offset_reset="earliest")
    await kafka.start()
    out: dict[int, set[int]] = {}
    try:
        quiet = time.monotonic()
        while time.monotonic() - quiet < 3:
            batch = await kafka.getmany(timeout_ms=200, max_records=5000)
            for msgs in batch.values():
                for m in msgs:
                    quiet = time.monotonic()
                    obj = orjson.loads(m.value)
                    if obj.get("dataset_id") == dataset_id:
                        out.setdefault(obj["column"], set()).add(obj["seq"])
    finally:
        await kafka.stop()
    return out


def _missing(in_topic: dict[int, set[int]], chunks: int) -> dict[int, list[int]]:
    return {c: sorted(set(range(chunks)) - seqs) for c, seqs in sorted(in_topic.items())}


def _log_problems(worker: WorkerProcess) -> str:
    """The warnings, errors and dead letters a worker logged (the last 25 lines of them)."""
    lines = [line for line in worker.log().splitlines()
             if any(w in line for w in ("WARNING", "ERROR", "dead letter", "Traceback"))]
    return f"{worker.log_path}:\n" + "\n".join(lines[-25:])


def _profiles_state(home: Path) -> str:
    """What the SQLite profiles table holds (for the failure message)."""
    import sqlite3

    out = []
    for db in home.rglob("*.sqlite"):
        con = sqlite3.connect(db)
        try:
            for k, v in con.execute("SELECT k, v FROM kv").fetchall():
                value = orjson.loads(v) if v else v
                if isinstance(value, str) and value.startswith("{"):
                    progress = ColumnProgress.from_json(value)
                    if progress.done and not progress.failed:
                        continue
                    value = {"chunks": len(progress.digests), "missing": progress.missing(),
                             "failed": progress.failed}
                out.append(f"{db.name} {k!r}: {str(value)[:300]}")
            out += [f"{db.name} offset {row}" for row in con.execute("SELECT * FROM offsets")]
        finally:
            con.close()
    return "\n".join(out[-40:])
