"""Commit only what was processed: the consumer offset never passes an event in flight.

Faust 0.15.3 picks the offset to commit from the acknowledged offsets alone
(``Consumer._new_offset``). Two agents share the parse agent's channel (``concurrency=2``),
so event N+1 is often acknowledged while event N is still being parsed; Faust's guard
against a hole at the head of the acknowledged offsets is off by one (it compares the
lowest acknowledged offset with the committed *next* offset and lets a difference of one
through) and is skipped altogether before the first commit of a partition. It then
commits past N: a worker killed before N is done never answers N, and whoever takes the
partition starts after it (the crash test saw 8 consecutive chunks of a file committed
and never parsed; upstream: faust-streaming #312, #318).

A message can also be taken by no stream at all: one fetched in a generation that a
rebalance ended is skipped by the stream unacknowledged, and Faust's fetch loop drops an
offset fetched again below the last one it read (the crash test's logs show such drops).
Before the first commit of a partition Faust has no committed offset to measure holes
from, so it commits the first run of acknowledged offsets wherever it starts.

Here the offset to commit is the end of the run of done offsets that starts at the
committed one, and never above the lowest offset still in flight (taken by a stream and
not acknowledged). Events still queued for a stream have higher offsets than any taken one
(one FIFO channel per topic, fed in offset order), so nothing unprocessed is passed. A
partition with no committed offset starts from where its reading starts (the earliest
offset, looked up when the worker seeks after an assignment); until that is known nothing
is committed (at-least-once: at worst a redelivery, deduplicated by stable ids).

Faust also throws events away without a trace: every ``flow_control.resume()`` clears the
stream queues, and recovery resumes the flow once more AFTER it has sought the stream
partitions to their committed offsets and the fetcher has started filling the queues. The
events cleared then were read (the fetch loop's read offset is past them, so a later fetch
of the same offsets is dropped as a duplicate) and never taken by any stream: the crash
test's replacement worker parsed offsets 45-47, then 65 onwards, never 48-64 (seen with
logging of every parsed offset and every commit). Seeking back did not help (the test
below still lost them in 2 of 3 runs; by the logs, the fetch loop, still delivering a batch
fetched before the seek, moves its read offset past the sought one and drops the refetched
events). :class:`KeepCurrentEvents` keeps, when
the flow is resumed, the queued events of the current consumer generation (fetched after
the rebalance, so still valid; the stream itself skips those of older generations) and
clears only the others. A clear at the start of a rebalance (flow suspended) is Faust's:
the seek to the committed offsets that follows fetches those events again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ack_lock
from mode.utils.queues import FlowControlEvent

log = logging.getLogger("aurora.commits")
SCHEME = "aurorakafka"


def commit_offset(done: Iterable[int], in_flight: Iterable[int],
                  committed: int | None) -> int | None:
    """The next offset to commit, or None when nothing new is safe to commit.

    ``done``: offsets acknowledged (or known absent from the log); ``in_flight``: offsets
    taken by a stream and not acknowledged; ``committed``: the committed next offset, or
    where reading started (None: not known, so nothing is safe).

    >>> commit_offset([48], [47], 47)          # 47 is still being parsed
    >>> commit_offset([47, 48, 50], [49], 47)
    49
    >>> commit_offset([2, 3], [], 0)           # 0 and 1 were never taken: not passed
    >>> commit_offset([0, 1, 2], [], None)
    """
    if committed is None:
        return None
    done_set, flying = set(done), set(in_flight)
    offset = committed
    while offset in done_set and offset not in flying:
        offset += 1
    return offset if offset > committed else None


class SafeCommits:
    """Consumer mixin: Faust's ``_new_offset`` replaced by :func:`commit_offset`."""

    def _new_offset(self, tp: Any) -> int | None:
        consumer: Any = self
        acked: list[int] = consumer._acked[tp]
        if not acked:
            return None
        with ack_lock:  # acks may come from other threads; the WeakSet must not move
            in_flight = [m.offset for m in list(consumer._unacked_messages)
                         if m.tp == tp and not m.acked]
        done = set(acked)
        gaps = consumer._gap[tp]
        if gaps:  # offsets Faust saw missing from the log (compaction, markers)
            for interval in gaps:
                done.update(range(interval.begin, interval.end))
        committed = consumer._committed_offset[tp]
        offset = commit_offset(done, in_flight, committed)
        if offset is None:
            return None
        # forget what the new offset covers (Faust keeps acked offsets until committed)
        keep = [o for o in acked if o >= offset]
        acked[:] = keep
        consumer._acked_index[tp].intersection_update(keep)
        if gaps:
            gaps.chop(0, offset)
        log.debug("commit %s -> %d (in flight %s)", tp, offset, sorted(in_flight)[:5])
        return offset

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, then a start for every partition that has
        none: the offset reading starts from (``consumer_auto_offset_reset``)."""
        await super().perform_seek()  # type: ignore[misc]
        consumer: Any = self
        missing = [tp for tp in consumer.assignment() if consumer._committed_offset[tp] is None]
        if not missing:
            return
        try:
            if consumer.app.conf.consumer_auto_offset_reset == "latest":
                starts = await consumer.highwaters(*missing)
            else:
                starts = await consumer.earliest_offsets(*missing)
        except Exception as exc:  # nothing is committed on these until the next seek
            log.warning("start offsets of %d partition(s) not known (%r): their offsets "
                        "are not committed until the next rebalance", len(missing), exc)
            return
        for tp, start in starts.items():
            if consumer._committed_offset[tp] is None and start is not None:
                consumer._committed_offset[tp] = int(start)

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # Not expected on aurora's topics (no compaction, no transactions): say so.
        log.warning("offsets %d..%d of %s never came; Faust counts them as done",
                    offset_from, offset_to, tp)
        await super()._add_gap(tp, offset_from, offset_to)  # type: ignore[misc]


class KeepCurrentEvents(FlowControlEvent):
    """Faust's flow control of stream queues, except that a clear while the flow is on keeps
    the events of the current generation (see the module docstring); a clear during a
    rebalance (flow suspended) empties the queues as Faust's does."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.kept = 0  # events a clear kept (read by tests)

    def clear(self) -> None:
        if not self.is_active():
            super().clear()
            return
        generation = self.app.consumer_generation_id
        kept = 0
        for queue in list(self._queues):
            items = getattr(queue, "_queue", None)
            if not items:
                continue
            keep = [e for e in items
                    if getattr(getattr(e, "message", None), "generation_id", None) == generation]
            items.clear()
            items.extend(keep)  # the queue was not empty: no reader waits to be woken
            kept += len(keep)
        if kept:
            self.kept += kept
            log.info("kept %d queued events of generation %s that Faust's flow resume "
                     "would have thrown away unprocessed", kept, generation)


def install(app: Any) -> None:
    """Give a new Faust app the flow control above (before anything builds a queue)."""
    if "flow_control" in app.__dict__:
        raise RuntimeError("install() must run before the app's queues exist")
    app.flow_control = KeepCurrentEvents(app, loop=app.loop)


class Consumer(SafeCommits, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with safe commits (any Kafka broker)."""


class Transport(faust_aiokafka.Transport):
    """``kafka://`` for aurora: Faust's aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer


drivers.TRANSPORTS.update({SCHEME: f"{__name__}:Transport"})


def broker_urls(broker: str, scheme: str = SCHEME) -> str:
    """``kafka://h:p;h2:p2`` -> the same brokers through the transport named ``scheme``."""
    parts = [p.strip() for p in broker.replace(",", ";").split(";") if p.strip()]
    return ";".join(f"{scheme}://{p.split('://', 1)[-1]}" for p in parts)
