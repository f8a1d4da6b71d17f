"""Prometheus metrics of one worker (own registry, so several workers fit in one process).

Every label has a bounded set of values: stage names, layers, outcome and reason *classes*,
topic names, partition numbers, the consumer group (the app id) and the prior's tag. No label
ever carries a user id, a dataset id, a column name or the text of an error, so the metrics
endpoint reveals nothing about whose data went through (tests/deploy checks it).

What is measured where:

* ``aurora_stage_seconds{stage}``: latency of one unit of work per stage: ``parse`` (one CSV
  chunk parsed and sketched), ``profile`` (one column sketch merged), ``recommend`` (one
  column), ``learn`` (one batch of corrections applied and committed).
* ``aurora_dead_letters_total{source,reason}``: ``source`` is the stage whose input it was,
  ``reason`` the class of ``classify_reason`` (never the reason's text).
* ``aurora_refusals_total{kind}``: what the worker declined to do on purpose: a prior update
  not shared because the user's daily privacy budget is spent (``privacy_budget``), a user's
  state not loaded because its signature does not verify (``tampered_state``), a correction
  not applied because its state could not be saved (``state_unsaved``), a correction whose
  echoed recommendation this deployment did not issue to that user (``unsealed_correction``),
  and an event without a valid token (``unauthenticated``, reserved for the identity work:
  always 0 until then).
* ``aurora_consumer_lag{group,topic,partition}``: highwater - committed offset of every
  partition assigned to this worker, at scrape time (``WorkerCollector``), clamped at 0. The
  highwater is the larger of two readings: the one the broker returned with the worker's
  last fetch (fresh while the partition is fetched, stale while Faust pauses it because its
  buffer is full), and the partition's end offset from a ListOffsets request every 5 s
  (service/health.py). On Apache Kafka both are exact (up to their age). Tansu 0.6 (the
  embedded broker) under-reports ListOffsets when the partition's last batch holds several
  records (measured: 10 records, the last batch of 4, ListOffsets said 7, the fetch
  highwater 10), so on Tansu the lag of a paused partition can read lower than it is.
* ``aurora_prior_info{tag}`` (1) and ``aurora_prior_updates_learned`` (gauge): which shared
  prior this worker serves, and how many privatized updates it has learned on top of it;
  ``aurora_users_loaded``: how many users' state the worker holds (a count, never ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

from aurora_stream.recommend.decision import LAYERS

STAGES = ("parse", "profile", "recommend", "learn")
LATENCY_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0)

# source topic -> the stage whose input it is (anything else is "other")
SOURCES = {
    "aurora.csv-chunks": "parse",
    "aurora.column-chunks": "profile",
    "aurora.column-profiles": "recommend",
    "aurora.corrections": "learn",
}
# (class, pattern of the reason text); first match wins, else "other"
REASON_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE)) for name, pattern in (
        ("undelivered", r"could not be sent to the broker"),
        ("quota", r"over quota|quota store unavailable"),
        ("unauthenticated", r"unauthenticated|unsigned event|token|claims user_id"),
        ("state_unsaved", r"learned state could not be saved"),
        ("tampered_state", r"not a signed AURORA state|refusing to load|signature"),
        ("state_unavailable", r"state (is )?unavailable|could not load"),
        ("unsealed_correction", r"\bseal\b|not issued|echoed fingerprint|correction's user is "
                                r"not"),
        ("invalid_event", r"schema:|not JSON|empty message|expected a JSON object"),
        ("chunks_timed_out", r"never arrived within"),
        ("dataset_id_reused", r"another file|different data"),
        ("unparseable_chunk", r"no columns found|has no 'columns'|header|parse"),
        ("inconsistent_chunks", r"inconsistent|conflicting|\bseq\b"),
        ("invalid_correction", r"unknown (feature type|imputation|transformation)|does not fit|"
                               r"recommendation echo"),
        ("internal", r"internal error"),
    ))
REASONS = (*(name for name, _ in REASON_CLASSES), "other")
REFUSALS = ("privacy_budget", "tampered_state", "state_unsaved", "unsealed_correction",
            "unauthenticated", "quota")
CORRECTION_OUTCOMES = ("applied", "duplicate")


def classify_reason(reason: str) -> str:
    """The bounded class of a dead letter's reason text.

    >>> classify_reason("csv-chunk schema: data.seq must be integer")
    'invalid_event'
    >>> classify_reason("not applied: learned state could not be saved (OSError: full)")
    'state_unsaved'
    >>> classify_reason("the echoed recommendation has no seal (not issued by this deployment)")
    'unsealed_correction'
    >>> classify_reason("something nobody foresaw for user ann@example.com")
    'other'
    """
    for name, pattern in REASON_CLASSES:
        if pattern.search(reason):
            return name
    return "other"


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.chunks_parsed = Counter("aurora_chunks_parsed", "CSV chunks parsed", registry=r)
        self.rows_parsed = Counter("aurora_rows_parsed", "CSV rows parsed", registry=r)
        self.rows_rejected = Counter("aurora_rows_rejected", "CSV rows rejected", registry=r)
        self.column_chunks = Counter("aurora_column_chunks", "Column sketches merged",
                                     registry=r)
        self.recommendations = Counter("aurora_recommendations", "Recommendations sent",
                                       ["layer"], registry=r)
        for layer in LAYERS:  # known label values exported from the start (rates need a 0)
            self.recommendations.labels(layer=layer)
        self.stage_seconds = Histogram(
            "aurora_stage_seconds", "Latency of one unit of work per stage (module doc)",
            ["stage"], registry=r, buckets=LATENCY_BUCKETS)
        for stage in STAGES:
            self.stage_seconds.labels(stage=stage)
        self.parse_seconds = self.stage_seconds.labels(stage="parse")
        self.profile_seconds = self.stage_seconds.labels(stage="profile")
        self.recommend_seconds = self.stage_seconds.labels(stage="recommend")
        self.learn_seconds = self.stage_seconds.labels(stage="learn")
        self.corrections = Counter("aurora_corrections", "Corrections applied", ["outcome"],
                                   registry=r)
        for outcome in CORRECTION_OUTCOMES:
            self.corrections.labels(outcome=outcome)
        self.dead_letters = Counter("aurora_dead_letters", "Events sent to dead-letter, by the "
                                    "stage whose input they were and the class of reason",
                                    ["source", "reason"], registry=r)
        for source in (*SOURCES.values(), "other"):
            for reason in REASONS:
                self.dead_letters.labels(source=source, reason=reason)
        self.refusals = Counter("aurora_refusals", "What the worker declined to do, by kind "
                                "(module doc)", ["kind"], registry=r)
        for kind in REFUSALS:
            self.refusals.labels(kind=kind)
        self.prior_updates = Counter("aurora_prior_updates_applied",
                                     "Shared-prior updates learned by this worker", registry=r)
        self.shared_releases = Counter(
            "aurora_shared_releases_applied",
            "Central-DP aggregate releases applied to this worker's shared prior", registry=r)
        self.shared_published = Counter(
            "aurora_shared_releases_published",
            "Central-DP aggregate releases this worker noised and published", registry=r)
        self.state_unavailable = Counter(
            "aurora_user_state_unavailable",
            "Recommendations served from the prior because a user's state could not be read",
            registry=r)
        self.cache_errors = Counter("aurora_cache_errors",
                                    "L0 cache operations that failed (served without it)",
                                    registry=r)
        ProcessCollector(registry=r)

    def dead_letter(self, source_topic: str, reason: str) -> None:
        """Count one dead letter (by its source stage and reason class, never the text)."""
        cls = classify_reason(reason)
        self.dead_letters.labels(source=SOURCES.get(source_topic, "other"), reason=cls).inc()
        if cls in REFUSALS:
            self.refusals.labels(kind=cls).inc()

    def count_privacy_refusals(self, privacy: Any) -> None:
        """Count ``privacy_budget`` refusals of this PrivacyGuard (``charge`` refusing while
        sharing is enabled means the user's daily budget is spent; ``share`` charges too)."""
        if getattr(privacy, "_aurora_counted", False):
            return
        charge = privacy.charge

        def counted(*args: Any, **kwargs: Any) -> Any:
            ok = charge(*args, **kwargs)
            if not ok and privacy.enabled:
                self.refusals.labels(kind="privacy_budget").inc()
            return ok

        privacy.charge = counted
        privacy._aurora_counted = True

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose /metrics on host:port in a thread (workers use service/health.py instead,
        which also answers /healthz and /readyz)."""
        start_http_server(port, addr=host, registry=self.registry)


class WorkerCollector:
    """Scrape-time metrics of a running worker: consumer lag per partition, the served prior.

    Runs in the event loop's thread (the health server calls the registry from there), so it
    reads the consumer's state without locks.
    """

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.end_offsets: dict[tuple[str, int], int] = {}  # ListOffsets ends, by health.py

    def describe(self) -> list:
        return []  # registered lazily: names are not checked against other collectors

    def collect(self) -> Iterator[Any]:
        worker = self.worker
        group = worker.settings.app_id
        lag = GaugeMetricFamily("aurora_consumer_lag", "Highwater minus committed offset of "
                                "each assigned partition (Tansu under-reports: module doc)",
                                labels=["group", "topic", "partition"])
        highwater = GaugeMetricFamily("aurora_consumer_highwater",
                                      "Highwater offset (last fetch or ListOffsets, larger)",
                                      labels=["group", "topic", "partition"])
        committed = GaugeMetricFamily("aurora_consumer_committed",
                                      "Last offset committed by this worker",
                                      labels=["group", "topic", "partition"])
        assigned = GaugeMetricFamily("aurora_partitions_assigned",
                                     "Partitions assigned to this worker", labels=["group"])
        consumed = set(getattr(worker, "topics", None) or ())  # not changelogs, not internal
        for tp, hw, done in _offsets(worker.app):
            if tp.topic not in consumed:
                continue
            listed = self.end_offsets.get((tp.topic, tp.partition))
            if listed is not None:
                hw = listed if hw is None else max(hw, listed)
            labels = [group, tp.topic, str(tp.partition)]
            if hw is not None:
                highwater.add_metric(labels, hw)
            if done is not None:
                committed.add_metric(labels, done)
            if hw is not None:
                lag.add_metric(labels, max(hw - (done or 0), 0))
        assigned.add_metric([group], len([tp for tp in _assignment(worker.app)
                                          if tp.topic in consumed]))
        yield from (lag, highwater, committed, assigned)

        ready = GaugeMetricFamily("aurora_worker_ready", "1 once partitions are assigned",
                                  labels=["group"])
        ready.add_metric([group], 1.0 if _safe(lambda: worker.ready, False) else 0.0)
        yield ready
        runtime = worker.runtime
        bank = getattr(runtime, "models", None)
        if bank is not None:
            info = InfoMetricFamily("aurora_prior", "The shared prior this worker serves")
            info.add_metric([], {"tag": str(getattr(bank, "prior_tag", "unknown"))[:64]})
            yield info
            learned = GaugeMetricFamily("aurora_prior_updates_learned",
                                        "Privatized updates learned on top of the prior's tag")
            learned.add_metric([], float(getattr(getattr(bank, "prior", None), "n", 0) or 0))
            yield learned
            users = GaugeMetricFamily("aurora_users_loaded",
                                      "Users whose learned state this worker holds")
            users.add_metric([], float(len(getattr(bank, "users", {}) or {})))
            yield users
        from aurora_stream import __version__

        build = InfoMetricFamily("aurora_build", "AURORA Stream version")
        build.add_metric([], {"version": __version__})
        yield build


def _safe(fn: Any, default: Any) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _assignment(app: Any) -> set:
    if app is None:
        return set()
    return _safe(lambda: set(app.consumer.assignment()), set())


def _offsets(app: Any) -> Iterator[tuple[Any, int | None, int | None]]:
    """(tp, highwater, committed) of every assigned partition; None where not known yet."""
    for tp in sorted(_assignment(app)):
        hw = _safe(lambda tp=tp: app.consumer.highwater(tp), None)
        done = _safe(lambda tp=tp: app.consumer._committed_offset.get(tp), None)
        yield tp, (int(hw) if hw is not None and hw >= 0 else None), (
            int(done) if done is not None else None)
