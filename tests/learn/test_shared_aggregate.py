"""The learner's side of central-DP sharing: a correction is charged with its effect, joins
the worker's pending aggregate only once saved, is released noised once, survives a
restart without being noised again, and every worker applying the releases serves the
same prior."""

from __future__ import annotations

from pathlib import Path

import pytest
from learn_helpers import INT_CODES, PRICE, SENTENCE, answers, correction, variants

from aurora_stream.learn.learner import Learner
from aurora_stream.learn.prior_state import MAGIC, PRIOR_NAME
from aurora_stream.learn.store import DirectoryStore
from aurora_stream.privacy.aggregate import Release
from aurora_stream.privacy.dp import PrivacyGuard
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.recommender import Recommender

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.t = 1_780_000_000.0

    def __call__(self) -> float:
        return self.t


class FailingStore(DirectoryStore):
    def save(self, name: str, data: bytes) -> None:
        raise OSError("disk full")


def make(bank: ModelBank, tmp_path: Path, clock: Clock, release_users: int = 2,
         store=None) -> Learner:
    local = DirectoryStore(tmp_path, b"k" * 32)
    return Learner(bank, privacy=PrivacyGuard(clock=clock, seed=1), store=store or local,
                   prior_store=local, release_users=release_users, worker_id="w1")


def fix(learner: Learner, bank: ModelBank, user: str, i: int, view=INT_CODES):
    rec = Recommender(bank).recommend(view, (), user)
    return learner.learn(correction(rec, view, user, cid=f"{user}-{i}",
                                    feature_type="categorical"))


def test_a_correction_joins_the_pending_aggregate_only_after_its_state_is_saved(
        bank: ModelBank, tmp_path: Path) -> None:
    clock = Clock()
    learner = make(bank, tmp_path, clock)
    rec = Recommender(bank).recommend(INT_CODES, (), "ann")
    out = learner.apply(correction(rec, INT_CODES, "ann", cid="a0", feature_type="categorical"))
    assert out.contribution is not None and out.prior_update is None
    assert learner.pending.corrections == 0  # not before commit
    learner.commit([out])
    assert learner.pending.corrections == 1 and learner.privacy.report("ann")[
        "epsilon_spent_today"] == 0.25
    # the spending was saved with the correction: a worker that takes ann over (a crash,
    # a rebalance) sees it, and the redelivered correction is a duplicate charging nothing
    other = make(ModelBank(), tmp_path, clock)
    again = other.learn(correction(rec, INT_CODES, "ann", cid="a0", feature_type="categorical"))
    assert again.duplicate and again.contribution is None
    assert other.privacy.report("ann")["epsilon_spent_today"] == 0.25
    assert other.pending.corrections == 0
    # a state write that fails: the agent forgets the batch, nothing joins the aggregate
    broken = make(ModelBank(), tmp_path / "b", clock,
                  store=FailingStore(tmp_path / "b", b"k" * 32))
    out = broken.apply(correction(rec, INT_CODES, "bob", cid="b0", feature_type="categorical"))
    with pytest.raises(OSError):
        broken.commit([out])
    assert broken.pending.corrections == 0


def test_at_most_k_corrections_per_user_and_utc_day_are_shared(bank: ModelBank,
                                                              tmp_path: Path) -> None:
    clock = Clock()
    learner = make(bank, tmp_path, clock, release_users=1000)
    views = variants(INT_CODES, 3) + variants(PRICE, 3) + variants(SENTENCE, 3)
    outs = [fix(learner, bank, "ann", i, v) for i, v in enumerate(views)]
    assert all(o.learned for o in outs)  # her own model learns every one
    assert [o.contribution is not None for o in outs] == [True] * 4 + [False] * 5
    assert learner.pending.corrections == 4 and learner.privacy.per_day == 4
    assert learner.privacy.report("ann")["epsilon_spent_today"] == 1.0
    clock.t += DAY
    assert fix(learner, bank, "ann", 99, PRICE).contribution is not None  # a new day
    assert fix(learner, bank, "ann", 98, PRICE).duplicate is False


def test_a_release_is_noised_once_saved_then_resent_unchanged_after_a_restart(
        bank: ModelBank, _prior: ModelBank, tmp_path: Path) -> None:
    clock = Clock()
    learner = make(bank, tmp_path, clock, release_users=2)
    fix(learner, bank, "ann", 0)
    assert learner.take_release() is None  # one user-day: not yet
    fix(learner, bank, "bob", 0)
    rel = learner.take_release()
    assert rel is not None and rel.epsilon == 0.25 and rel.release_id.startswith("w1-")
    assert learner.pending.corrections == 0 and learner.unsent == [rel]
    assert learner.take_release() is None  # nothing pending: nothing new
    learner.save_prior()  # the agent saves before it publishes
    # the worker dies before it reads its release back: a new process resends THE SAME one
    again = make(_prior.copy(), tmp_path, clock)
    assert again.load_prior_state()
    assert again.unsent == [rel]
    # ... and a contribution saved in the pending aggregate survives too
    fix(learner, bank, "carol", 0)
    learner.save_prior()
    third = make(_prior.copy(), tmp_path, clock)
    third.load_prior_state()
    assert third.pending.corrections == 1 and third.unsent == [rel]
    assert third.apply_release(rel) and not third.apply_release(rel)
    assert third.unsent == []


def test_every_worker_applying_the_same_releases_serves_the_same_prior(
        bank: ModelBank, _prior: ModelBank, tmp_path: Path) -> None:
    clock = Clock()
    learner = make(bank, tmp_path, clock, release_users=3)
    for u in ("ann", "bob", "carol"):
        for i, v in enumerate(variants(INT_CODES, 2)):
            fix(learner, bank, u, i, v)
    rel = learner.take_release()
    assert rel is not None
    wire = Release.from_dict(rel.to_dict())  # what the topic carries
    other = _prior.copy()
    worker = make(other, tmp_path / "other", clock)
    before = other.prior_version()
    for w in (learner, worker):
        assert w.apply_release(wire)
        assert not w.apply_release(wire)  # read twice (a restart): applied once
    assert bank.prior_version() == other.prior_version() == f"{before}.s1"
    probe = variants(INT_CODES, 3) + variants(PRICE, 2)
    assert answers(Recommender(bank), probe, "dave") == answers(Recommender(other), probe,
                                                                "dave")
    worker.save_prior()
    restarted = make(_prior.copy(), tmp_path / "other", clock)
    restarted.load_prior_state()
    assert restarted.bank.prior_version() == f"{before}.s1"
    assert answers(Recommender(restarted.bank), probe, "dave") == answers(
        Recommender(other), probe, "dave")


def test_a_prior_saved_before_the_aggregate_existed_is_still_read(
        _prior: ModelBank, tmp_path: Path) -> None:
    import struct

    import orjson
    import zstandard

    bank = _prior.copy()
    head = orjson.dumps({"format": 2, "tag": bank.prior_tag, "real_examples": 7,
                         "applied": ["u1"]})
    body = zstandard.ZstdCompressor().compress(__import__("pickle").dumps(bank.prior))
    store = DirectoryStore(tmp_path, b"k" * 32)
    store.save(PRIOR_NAME, MAGIC + struct.pack(">I", len(head)) + head + body)
    learner = make(bank, tmp_path, Clock())
    assert learner.load_prior_state()
    assert list(learner.prior_applied) == ["u1"] and bank.real_examples == 7
    assert bank.shared is None and learner.pending.corrections == 0 and learner.unsent == []
