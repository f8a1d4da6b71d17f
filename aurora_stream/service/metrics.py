"""Prometheus metrics of one worker (own registry, so several workers fit in one process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server


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
        self.recommend_seconds = Histogram(
            "aurora_recommend_seconds", "Time to recommend one column", registry=r,
            buckets=(1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1))
        self.corrections = Counter("aurora_corrections", "Corrections applied", ["outcome"],
                                   registry=r)
        self.dead_letters = Counter("aurora_dead_letters", "Events sent to dead-letter",
                                    registry=r)
        self.learn_seconds = Histogram(
            "aurora_learn_seconds", "Time to learn and commit one batch of corrections",
            registry=r, buckets=(1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1.0))
        self.prior_updates = Counter("aurora_prior_updates_applied",
                                     "Shared-prior updates learned by this worker", registry=r)
        self.state_unavailable = Counter(
            "aurora_user_state_unavailable",
            "Recommendations served from the prior because a user's state could not be read",
            registry=r)
        self.cache_errors = Counter("aurora_cache_errors",
                                    "L0 cache operations that failed (served without it)",
                                    registry=r)

    def serve(self, port: int) -> None:
        """Expose /metrics on 127.0.0.1:port for Prometheus."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
