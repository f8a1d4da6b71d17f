"""Fixtures for learn tests: the shipped prior (loaded once, copied per test)."""

from __future__ import annotations

import pytest

from aurora_stream.recommend.models import ModelBank


@pytest.fixture(scope="session")
def _prior() -> ModelBank:
    return ModelBank.with_prior()


@pytest.fixture
def bank(_prior: ModelBank) -> ModelBank:
    """A private copy of the shipped prior."""
    return _prior.copy()
