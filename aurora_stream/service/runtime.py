"""The objects one worker shares between its agents: recommender, models, cache, learner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aurora_stream.config import Settings
from aurora_stream.recommend.cache import InProcessCache, RedisCache
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.recommender import Recommender
from aurora_stream.service.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    models: ModelBank
    cache: Any
    recommender: Recommender
    learner: Any = None
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Load learned state (or the shipped prior) and wire the layers together."""
        from aurora_stream.learn.persistence import build_learner

        cache = RedisCache(settings.redis_url) if settings.redis_url else InProcessCache()
        learner = build_learner(settings.ensure_home(), cache,
                                epsilon_per_day=settings.epsilon_per_day,
                                rule_support=settings.rule_support)
        recommender = Recommender(learner.bank, cache=cache,
                                  review_threshold=settings.review_threshold,
                                  learned_rules=learner.rules)
        return cls(settings=settings, models=learner.bank, cache=cache, recommender=recommender,
                   learner=learner)
