"""The objects one worker shares between its agents: recommender, models, cache, learner."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aurora_stream.config import Settings
from aurora_stream.identity import kafka_security
from aurora_stream.identity.gate import Gate
from aurora_stream.learn.learner import Learner
from aurora_stream.learn.persistence import build_learner
from aurora_stream.learn.store import state_key
from aurora_stream.recommend.cache import DegradingCache, InProcessCache, RedisCache
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.recommender import Recommender
from aurora_stream.recommend.seal import seal_key
from aurora_stream.service.metrics import Metrics

timeline = logging.getLogger("aurora.timeline")


@dataclass
class Runtime:
    settings: Settings
    models: ModelBank
    cache: DegradingCache
    recommender: Recommender
    learner: Learner
    metrics: Metrics = field(default_factory=Metrics)
    pending_prior: set[str] = field(default_factory=set)
    """Ids of prior updates this worker published and has not read back yet."""
    sealing_key: bytes | None = None
    """Seals recommendations and checks correction echoes (recommend/seal.py)."""
    gate: Any = None
    """Who signed an event, and her quota (identity/gate.py)."""

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Load the prior (shipped or saved), open the state stores, wire the layers."""
        metrics = Metrics()

        def cache_error(exc: Exception) -> None:
            metrics.cache_errors.inc()

        inner = RedisCache(settings.redis_url) if settings.redis_url else InProcessCache()
        cache = DegradingCache(inner, on_error=cache_error)
        learner = build_learner(settings.ensure_home(), cache,
                                epsilon_per_day=settings.epsilon_per_day,
                                dp_mechanism=settings.dp_mechanism,
                                dp_release_users=settings.dp_release_users,
                                rule_support=settings.rule_support,
                                redis_url=settings.redis_url if settings.shared_state else None,
                                key_hex=settings.state_key)
        recommender = Recommender(learner.bank, cache=cache,
                                  review_threshold=settings.review_threshold,
                                  learned_rules=learner.rules, rules=learner.symbolic)
        key = state_key(settings.home, settings.state_key)
        runtime = cls(settings=settings, models=learner.bank, cache=cache,
                      recommender=recommender, learner=learner, metrics=metrics,
                      sealing_key=seal_key(key), gate=Gate.from_settings(settings))
        timeline.info("models loaded")
        return runtime

    def kafka_client_options(self) -> dict[str, Any]:
        """Extra options for the worker's own plain Kafka clients (security settings)."""
        return kafka_security(self.settings)
