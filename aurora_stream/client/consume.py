"""Read recommendations (and rejected rows) for one dataset from the broker.

Delivery is at-least-once, so results are deduplicated by ``recommendation_id``. The reader
never trusts end offsets (the embedded broker under-reports them): it stops when every
column of the dataset has a recommendation, or after a quiet timeout.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from aurora_stream.config import Settings
from aurora_stream.identity.kafka import kafka_security
from aurora_stream.recommend.seal import check
from aurora_stream.wire.records import DeadLetter, InvalidEvent, Recommendation, RejectedRow, decode
from aurora_stream.wire.topics import DEAD_LETTER, RECOMMENDATIONS, REJECTED_ROWS

MAX_MESSAGE = 16 << 20


def consumer(bootstrap: str, *topics: str, from_start: bool) -> AIOKafkaConsumer:
    """A group-less consumer (no rebalance wait) reading from the start or the end."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest" if from_start else "latest",
        fetch_max_bytes=MAX_MESSAGE,
        max_partition_fetch_bytes=MAX_MESSAGE,
        fetch_max_wait_ms=5,  # Tansu holds an empty fetch for the whole wait (service/tansu.py)
        client_id=f"aurora-reader-{uuid.uuid4().hex[:6]}",
        **kafka_security(Settings.from_env()),
    )


async def start_positioned(kafka: AIOKafkaConsumer, timeout: float = 15.0) -> None:
    """Start a reader and wait until its positions are fixed, so that nothing published
    after this returns is missed (a "latest" reader otherwise races the first message)."""
    await kafka.start()
    deadline = time.monotonic() + timeout
    while not kafka.assignment() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    for tp in kafka.assignment():
        await kafka.position(tp)


REFUSED_SETTLE = 1.0  # seconds of quiet before a dead-lettered column counts as refused


class DatasetFailed(RuntimeError):
    """An event of the dataset was dead-lettered, so its results will never be complete."""


class ResultCollector:
    """Collects one dataset's recommendations and rejected rows from a running consumer."""

    def __init__(self, bootstrap: str, *, from_start: bool,
                 sealing_key: bytes | None = None) -> None:
        self.kafka = consumer(
            bootstrap, RECOMMENDATIONS, REJECTED_ROWS, DEAD_LETTER, from_start=from_start
        )
        self.sealing_key = sealing_key  # when given, unsealed (forged) recommendations are
        self.forged = 0  # dropped and counted
        self.recommendations: dict[str, dict[str, Recommendation]] = {}
        self.rejected: dict[str, dict[tuple[int, int], RejectedRow]] = {}
        self.duplicates = 0
        self.dead: dict[str, list[DeadLetter]] = {}

    async def start(self) -> ResultCollector:
        await start_positioned(self.kafka)
        return self

    async def stop(self) -> None:
        await self.kafka.stop()

    def _absorb(self, topic: str, value: bytes | None) -> None:
        try:
            if topic == RECOMMENDATIONS:
                rec = decode(Recommendation, value)
                if self.sealing_key is not None and check(self.sealing_key, rec.asdict()):
                    self.forged += 1
                    return
                seen = self.recommendations.setdefault(rec.dataset_id, {})
                if rec.recommendation_id in seen:
                    self.duplicates += 1
                seen[rec.recommendation_id] = rec
            elif topic == DEAD_LETTER:
                dl = decode(DeadLetter, value)
                if dl.key:
                    self.dead.setdefault(dl.key.split(":", 1)[0], []).append(dl)
            else:
                row = decode(RejectedRow, value)
                self.rejected.setdefault(row.dataset_id, {})[(row.seq, row.line)] = row
        except InvalidEvent:
            pass  # not ours to judge: the worker dead-letters invalid events

    def _column_letters(self, dataset_id: str) -> dict[int, DeadLetter]:
        """Dead letters keyed ``dataset:column`` (a column-chunk or its profile), by column."""
        out: dict[int, DeadLetter] = {}
        for dl in self.dead.get(dataset_id, []):
            _, _, col = (dl.key or "").partition(":")
            if col.isdigit():
                out.setdefault(int(col), dl)
        return out

    def _file_level(self, dataset_id: str) -> DeadLetter | None:
        """A dead letter of the dataset that is not about one column (a csv-chunk)."""
        for dl in self.dead.get(dataset_id, []):
            if not (dl.key or "").partition(":")[2].isdigit():
                return dl
        return None

    def refused(self, dataset_id: str) -> dict[int, str]:
        """column -> reason, for the columns refused (dead-lettered) with no recommendation."""
        answered = {r.column for r in self.recommendations.get(dataset_id, {}).values()}
        return {c: dl.reason for c, dl in sorted(self._column_letters(dataset_id).items())
                if c not in answered}

    def _accounted(self, dataset_id: str, n_columns: int | None) -> bool:
        recs = self.recommendations.get(dataset_id, {})
        letters = self._column_letters(dataset_id)
        if not letters:
            return False
        n = n_columns or (next(iter(recs.values())).n_columns if recs else None)
        if n is None:
            return False
        return len({r.column for r in recs.values()} | set(letters)) >= n

    def complete(self, dataset_id: str, *, with_rejected: bool = True) -> bool:
        """Every column has its recommendation (and, in raw mode, every rejected row is in)."""
        recs = self.recommendations.get(dataset_id, {})
        if not recs or len(recs) < next(iter(recs.values())).n_columns:
            return False
        expected = max(r.rows_rejected for r in recs.values())
        return not with_rejected or len(self.rejected.get(dataset_id, {})) >= expected

    async def wait(
        self,
        dataset_id: str,
        *,
        timeout: float = 120.0,
        idle: float | None = None,
        with_rejected: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        n_columns: int | None = None,
    ) -> list[Recommendation]:
        """Recommendations of ``dataset_id`` sorted by column, once all columns are in.

        A column the worker refused (a dead letter keyed by its ``dataset:column``) counts
        as in once nothing new has come for ``REFUSED_SETTLE`` seconds: the other columns
        are returned and ``refused()`` says which and why (one bad column never loses a
        file). A dead-lettered chunk of the file itself raises ``DatasetFailed``. Raises
        TimeoutError after ``timeout`` seconds; with ``idle``, returns what it has once
        nothing new arrived for that long. ``n_columns``: the file's width, when known.
        """
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while not self.complete(dataset_id, with_rejected=with_rejected):
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(
                    f"{len(self.recommendations.get(dataset_id, {}))} recommendations for "
                    f"{dataset_id} after {timeout:.0f}s"
                )
            whole = self._file_level(dataset_id)
            if whole is not None:  # a chunk of the file itself: no column can be complete
                raise DatasetFailed(
                    f"{whole.source_topic}[{whole.source_partition}]@{whole.source_offset} of "
                    f"dataset {dataset_id} went to aurora.dead-letter: {whole.reason}"
                )
            if self._accounted(dataset_id, n_columns) and now - last_new > REFUSED_SETTLE:
                break  # every column answered or refused (its dead letter): partial result
            if idle is not None and now - last_new > idle:
                break
            batch = await self.kafka.getmany(timeout_ms=100, max_records=1000)
            for tp, msgs in batch.items():
                for m in msgs:
                    self._absorb(tp.topic, m.value)
                    last_new = time.monotonic()
            if on_progress and self.recommendations.get(dataset_id):
                recs = self.recommendations[dataset_id]
                on_progress(len(recs), next(iter(recs.values())).n_columns)
        return sorted(self.recommendations.get(dataset_id, {}).values(), key=lambda r: r.column)

    def rejected_rows(self, dataset_id: str) -> list[RejectedRow]:
        return sorted(self.rejected.get(dataset_id, {}).values(), key=lambda r: r.line)
