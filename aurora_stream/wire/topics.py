"""Topic specs from ``topics/topics.toml``: names, partitions, retention, cleanup policy."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SPEC_PATH = Path(__file__).resolve().parents[2] / "topics" / "topics.toml"

CSV_CHUNKS = "aurora.csv-chunks"
REJECTED_ROWS = "aurora.rejected-rows"
COLUMN_CHUNKS = "aurora.column-chunks"
COLUMN_PROFILES = "aurora.column-profiles"
RECOMMENDATIONS = "aurora.recommendations"
REVIEW_REQUESTS = "aurora.review-requests"
CORRECTIONS = "aurora.corrections"
LEARN_EVENTS = "aurora.learn-events"
PRIOR_UPDATES = "aurora.prior-updates"
DEAD_LETTER = "aurora.dead-letter"
REFUSALS = "aurora.refusals"


# --- message keys (what the partitioner sees; see `key` in topics.toml) -------------------
def column_key(dataset_id: str, column: int) -> bytes:
    """Key of a column's chunks and of its recommendation: one column, one partition."""
    return f"{dataset_id}:{column}".encode()


def user_key(user_id: str) -> bytes:
    """Key of what belongs to one user's learning (profiles to recommend, corrections,
    learn events): co-partitioned topics put one user on one worker."""
    return user_id.encode()


def dataset_key(dataset_id: str) -> bytes:
    """Key of a file's chunks (their order within the file is kept) and rejected rows."""
    return dataset_id.encode()


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    cleanup_policy: str
    raw: bool
    key: str
    schema: str
    also: tuple[str, ...] = ()  # further schemas the topic carries (aurora.prior-updates)

    @property
    def schemas(self) -> tuple[str, ...]:
        """Every schema of the events on this topic."""
        return (self.schema, *self.also)

    @property
    def config(self) -> dict[str, str]:
        """Kafka topic configuration to create the topic with."""
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


@cache
def specs(path: Path = SPEC_PATH) -> dict[str, TopicSpec]:
    """All topic specs by name."""
    data = tomllib.loads(path.read_text())["topics"]
    return {name: TopicSpec(name=name, **{**spec, "also": tuple(spec.get("also", ()))})
            for name, spec in data.items()}


def raw_topics() -> set[str]:
    """Topics that may hold raw cell values (excluded from the privacy audit)."""
    return {name for name, s in specs().items() if s.raw}
