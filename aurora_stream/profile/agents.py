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

from aurora_stream.identity import CHUNK_BYTES, TOKEN_HEADER
from aurora_stream.identity.gate import Refused
from aurora_stream.profile.columns import ChunkError, process_chunk
from aurora_stream.profile.fingerprint import known_flags
from aurora_stream.profile.progress import ColumnProgress, ColumnRefused
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
PARSE_THREADS = 2
BATCH = 500  # column-chunks per delivery wait
BATCH_WAIT = 0.005  # seconds a batch waits to fill
SWEEP_EVERY = 30.0  # seconds between sweeps for columns whose chunks stopped coming


def _token_headers(event: Any) -> list[tuple[str, bytes]]:
    """The credential header of an event, to sign what the worker derives from it."""
    headers = getattr(event.message, "headers", None) or []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k, v) for k, v in items if k == TOKEN_HEADER]


def register(app: Any, topics: dict[str, Any], runtime: Any) -> None:
    """Attach the parse and profile agents and the profiles table to the app."""
    # Keyed like the column-chunks (raw ``dataset:column`` bytes, the producer's partitioner),
    # so a key's changelog partition is the partition its chunks come from, and the table
    # can be written for every event of a batch, not only for Faust's "current" one.
    profiles = app.Table(
        "profiles",
        key_type=bytes,
        value_type=str,
        use_partitioner=True,
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
                await runtime.gate.admit(event, chunk.user_id, CHUNK_BYTES,
                                         len(chunk.data), topics, runtime)
                t0 = time.perf_counter()  # metrics: parse latency
                result = await loop.run_in_executor(pool, process_chunk, chunk)
                runtime.metrics.parse_seconds.observe(time.perf_counter() - t0)  # metrics
            except (InvalidEvent, ChunkError, Refused) as exc:
                await deadletter.send(topics, runtime, event, str(exc))
                continue
            except Exception as exc:  # a bug must not stop the worker: report and go on
                log.exception("parse failed")
                await deadletter.send(topics, runtime, event, f"internal error: {exc!r}")
                continue
            out = Outbox()
            try:
                for r in result.rejected:
                    await out.send(
                        topics[REJECTED_ROWS],
                        key=dataset_key(chunk.dataset_id),
                        value=r.to_bytes(),
                    )
                signed = _token_headers(event)  # the publisher's credential travels on
                for c in result.columns:
                    await out.send(
                        topics[COLUMN_CHUNKS],
                        key=column_key(c.dataset_id, c.column),
                        value=c.to_bytes(),
                        headers=signed,
                    )
                await out.flush()
            except Exception as exc:  # refused after retries: the chunk is acknowledged
                # all the same, so say so where the publisher looks (nothing lost silently)
                log.exception("column-chunks of %s could not be sent", chunk.dataset_id)
                await _undelivered(event, "its column-chunks could not be sent to the broker "
                                   f"after retries ({exc!r}); publish the file again")
                continue
            runtime.metrics.chunks_parsed.inc()
            runtime.metrics.rows_parsed.inc(result.rows_in - len(result.rejected))
            runtime.metrics.rows_rejected.inc(len(result.rejected))

    @app.agent(topics[COLUMN_CHUNKS], name="aurora.profile")
    async def profile(stream: Any) -> None:
        # In batches: one delivery wait per batch (a wide file was one round trip per
        # column); finished columns are marked done only once their profiles are on the
        # broker, and Faust acks the batch after that.
        async for batch in stream.take_events(BATCH, within=BATCH_WAIT):
            outbox = Outbox()
            finished: dict[bytes, ColumnProgress] = {}  # done in this batch, not yet stored
            answering: list[Any] = []  # the events whose profile is in the outbox
            for event in batch:
                try:
                    t0 = time.perf_counter()  # metrics: profile latency
                    if await _profile_one(event, outbox, finished):
                        answering.append(event)
                    runtime.metrics.profile_seconds.observe(time.perf_counter() - t0)  # metrics
                except Exception as exc:  # one event: dead-letter it, keep serving the rest
                    log.warning("column-chunk refused: %r", exc)
                    await deadletter.send(topics, runtime, event,
                                          f"column-chunk refused: {exc}")
            try:
                await outbox.flush()
            except Exception as exc:  # refused after retries: not marked done, so a
                log.exception("column profiles could not be sent")  # re-publish is answered;
                for event in answering:  # and the publisher is told which columns
                    await _undelivered(event, "the column's profile could not be sent to the "
                                       f"broker after retries ({exc!r}); publish the file again")
                continue
            for key, progress in finished.items():
                profiles[key] = progress.to_json()

    async def _undelivered(event: Any, reason: str) -> None:
        """Dead-letter an event whose outputs the broker refused (keyed like the event, so
        the publisher sees it); if even that fails, the log is all there is."""
        try:
            await deadletter.send(topics, runtime, event, reason)
        except Exception:
            log.exception("dead letter could not be sent either: %s", reason)

    async def _profile_one(event: Any, outbox: Outbox,
                           finished: dict[bytes, ColumnProgress]) -> bool:
        """Take one column-chunk; a column it finishes goes to ``finished`` (stored as done
        once its profile is on the broker; later chunks of this batch already see it).
        True when a profile was put in ``outbox``."""
        cc = decode(ColumnChunk, event.value)
        await runtime.gate.admit(event, cc.user_id, None, 0, topics, runtime)  # edge mode too
        sketch = ColumnSketch.from_bytes(base64.b64decode(cc.sketch))
        key = column_key(cc.dataset_id, cc.column)
        progress = finished.get(key) or ColumnProgress.from_json(profiles.get(key))
        if key in timed_out and not progress.done:  # refused by the sweep: keep it refused
            progress.time_out(runtime.settings.chunk_timeout)
        try:
            verdict = progress.add(cc.seq, cc.sketch, sketch, last=cc.last,
                                   rows_rejected=cc.rows_rejected, now=time.time())
        except ColumnRefused:
            if key not in finished:
                profiles[key] = progress.to_json()
            raise
        if verdict == "duplicate":
            return False
        if verdict == "resend":  # the same file again under its id: answer it again
            await _send_profile(outbox, event, cc.user_id, progress.profile or "")
            return True
        runtime.metrics.column_chunks.inc()
        if verdict == "merged":
            profiles[key] = progress.to_json()
            return False
        assert progress.acc is not None
        view = progress.acc.sketch.view()  # may raise on a crafted sketch: dead-lettered
        out = ColumnProfile(
            dataset_id=cc.dataset_id, user_id=cc.user_id, column=cc.column,
            n_columns=cc.n_columns, view=view.to_dict(), flags=known_flags(cc.flags),
            rows=int(view.count or 0), rows_rejected=progress.rejected,
            chunks=progress.acc.total or 0,
        )
        text = out.to_bytes().decode()
        await _send_profile(outbox, event, cc.user_id, text)
        progress.finish(text)
        finished[key] = progress
        return True

    async def _send_profile(outbox: Outbox, event: Any, user_id: str,
                            profile_json: str) -> None:
        # re-keyed by user: the recommend agent runs where the user's state lives; signed
        # with the column-chunk's credential, which the recommend agent verifies again
        await outbox.send(topics[COLUMN_PROFILES], key=user_key(user_id),
                          value=profile_json.encode(), headers=_token_headers(event))

    timed_out: set[bytes] = set()  # columns the sweep refused (Faust tables are written only
    # while processing an event of their partition; the next chunk of such a column records it)

    @app.timer(interval=min(SWEEP_EVERY, max(runtime.settings.chunk_timeout / 3, 0.5)))
    async def sweep_stale_columns() -> None:
        """Columns whose missing chunks never came: dead-letter them (keyed by dataset, so
        the publisher sees it) instead of waiting forever."""
        now, timeout = time.time(), runtime.settings.chunk_timeout
        for key, text in list(profiles.items()):
            if key in timed_out:
                continue
            progress = ColumnProgress.from_json(text)
            if progress.stale(now, timeout):
                reason = progress.time_out(timeout)
                dl = deadletter.dead_letter(reason, COLUMN_CHUNKS, -1, -1, None, key)
                await deadletter.send_letter(topics, runtime, dl)
                timed_out.add(key)
