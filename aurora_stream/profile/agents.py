"""Parse and profile agents: csv-chunks -> column-chunks (+ rejected rows) -> column-profiles.

Thin: each agent decodes an event, calls the stage's logic, sends or updates a table.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from aurora_stream.profile.accumulate import ColumnAccumulator
from aurora_stream.profile.columns import ChunkError, process_chunk
from aurora_stream.profile.sketch import ColumnSketch
from aurora_stream.wire import deadletter
from aurora_stream.wire.delivery import Outbox
from aurora_stream.wire.records import ColumnChunk, ColumnProfile, CsvChunk, InvalidEvent, decode
from aurora_stream.wire.topics import (
    COLUMN_CHUNKS,
    COLUMN_PROFILES,
    CSV_CHUNKS,
    REJECTED_ROWS,
    column_key,
    dataset_key,
    user_key,
)

log = logging.getLogger("aurora.profile")
DONE = "done"
PARSE_THREADS = 2


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the parse and profile agents and the profiles table to the app."""
    profiles = app.Table(
        "profiles",
        key_type=str,
        value_type=str,
        partitions=topics[COLUMN_CHUNKS].partitions,
    )

    # Parsing and sketching are polars work that releases the GIL: two agent instances
    # hand chunks to a two-thread pool so both cores work (chunk order does not matter:
    # the profile agent merges by chunk seq).
    pool = ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="aurora-parse")

    @app.agent(topics[CSV_CHUNKS], name="aurora.parse", concurrency=PARSE_THREADS)
    async def parse(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            try:
                chunk = decode(CsvChunk, event.value)
                t0 = time.perf_counter()  # metrics: parse latency
                result = await loop.run_in_executor(pool, process_chunk, chunk)
                runtime.metrics.parse_seconds.observe(time.perf_counter() - t0)  # metrics
            except (InvalidEvent, ChunkError) as exc:
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            except Exception as exc:  # a bug must not stop the worker: report and go on
                log.exception("parse failed")
                await deadletter.send(topics, runtime, event, f"internal error: {exc!r}")
                continue
            out = Outbox()
            for r in result.rejected:
                await out.send(
                    topics[REJECTED_ROWS],
                    key=dataset_key(chunk.dataset_id),
                    value=r.to_bytes(),
                )
            for c in result.columns:
                await out.send(
                    topics[COLUMN_CHUNKS],
                    key=column_key(c.dataset_id, c.column),
                    value=c.to_bytes(),
                )
            await out.flush()
            runtime.metrics.chunks_parsed.inc()
            runtime.metrics.rows_parsed.inc(result.rows_in - len(result.rejected))
            runtime.metrics.rows_rejected.inc(len(result.rejected))

    @app.agent(topics[COLUMN_CHUNKS], name="aurora.profile")
    async def profile(stream: Any) -> None:
        async for event in stream.events():
            try:
                t0 = time.perf_counter()  # metrics: profile latency
                await _profile_one(event)
                runtime.metrics.profile_seconds.observe(time.perf_counter() - t0)  # metrics
            except Exception as exc:  # any one event: dead-letter it, keep serving the rest
                log.warning("column-chunk refused: %r", exc)
                await deadletter.send(topics, runtime, event, f"column-chunk refused: {exc}")

    async def _profile_one(event: Any) -> None:
        cc = decode(ColumnChunk, event.value)
        sketch = ColumnSketch.from_bytes(base64.b64decode(cc.sketch))
        key = column_key(cc.dataset_id, cc.column).decode()
        stored = profiles.get(key)
        if stored == DONE:
            return  # a redelivered chunk of a finished column
        state = orjson.loads(stored) if stored else {"rejected": 0}
        acc = (ColumnAccumulator.from_bytes(base64.b64decode(state["acc"])) if "acc" in state
               else ColumnAccumulator())
        if not acc.add(cc.seq, sketch, last=cc.last):
            return
        runtime.metrics.column_chunks.inc()
        state["rejected"] += cc.rows_rejected
        if acc.failed:
            profiles[key] = DONE
            raise ValueError(acc.error or "inconsistent chunks")
        if not acc.complete:
            state["acc"] = base64.b64encode(acc.to_bytes()).decode("ascii")
            profiles[key] = orjson.dumps(state).decode()
            return
        view = acc.sketch.view()  # may raise on a crafted sketch: dead-lettered by the caller
        out = ColumnProfile(
            dataset_id=cc.dataset_id, user_id=cc.user_id, column=cc.column,
            n_columns=cc.n_columns, view=view.to_dict(), flags=cc.flags,
            rows=int(view.count or 0), rows_rejected=state["rejected"], chunks=acc.total or 0,
        )
        outbox = Outbox()
        # re-keyed by user: the recommend agent runs where the user's state lives
        await outbox.send(topics[COLUMN_PROFILES], key=user_key(cc.user_id), value=out.to_bytes())
        await outbox.flush()  # the profile is on the broker before the column is DONE
        profiles[key] = DONE
