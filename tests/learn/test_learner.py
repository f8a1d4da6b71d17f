"""The learner: corrections reach every layer once, acceptances only extend, state survives
a restart, and one user's corrections never reach another except through the DP prior."""

from __future__ import annotations

from pathlib import Path

import pytest
from learn_helpers import INT_CODES, PRICE, SENTENCE, answers, correction, variants

from aurora_stream.learn.learner import InvalidCorrection, Learner
from aurora_stream.learn.store import DirectoryStore
from aurora_stream.privacy.dp import PrivacyGuard
from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key
from aurora_stream.recommend.cache import InProcessCache
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.prior import PRIOR_TAG
from aurora_stream.recommend.recommender import Recommender

KEY = b"0123456789abcdef0123456789abcdef"
DROP = {"feature_type": "not-generalizable", "transformation": "drop", "imputation": "none"}


def setup(bank: ModelBank, privacy: PrivacyGuard | None = None, store=None):
    learner = Learner(bank, cache=InProcessCache(clock=lambda: 0.0),
                      privacy=privacy or PrivacyGuard(epsilon=0.0), store=store)
    rec = Recommender(bank, learner.cache, learned_rules=learner.rules)
    return learner, rec


def test_correction_updates_model_rules_and_cache_at_once(bank: ModelBank) -> None:
    learner, rec = setup(bank)
    views = variants(SENTENCE, 6)
    first = rec.recommend(views[0], (), "ann")
    assert first.feature_type == "sentence"
    assert rec.recommend(views[0], (), "ann").layer == "L0-cache"
    out = learner.learn(correction(first, views[0], "ann", **DROP))
    assert out.learned and out.label == DROP
    assert out.model_version == f"user:ann@v1+{PRIOR_TAG}" == bank.version("ann")
    assert len(learner.cache) == 0  # the stale answers are gone
    for v in views[1:3]:
        r = rec.recommend(v, (), "ann")
        learner.learn(correction(r, v, "ann", **DROP))
    served = rec.recommend(views[5], (), "ann")  # a column never corrected, same region
    assert (served.feature_type, served.transformation) == ("not-generalizable", "drop")
    assert served.layer == "L1-learned-rule"
    assert learner.rules.rules_for("ann")[0]["support"] == 3


def test_acceptance_extends_the_cache_and_credits_the_rule(bank: ModelBank) -> None:
    learner, rec = setup(bank)
    views = variants(SENTENCE, 5)
    for v in views[:3]:
        learner.learn(correction(rec.recommend(v, (), "ann"), v, "ann", **DROP))
    r = rec.recommend(views[4], (), "ann")
    version, key = bank.version("ann"), fingerprint_key(fingerprint(views[4]))
    ttl = learner.cache.ttl_remaining("ann", key)
    out = learner.learn(correction(r, views[4], "ann", accepted=True))
    assert not out.learned and bank.version("ann") == version
    assert learner.cache.ttl_remaining("ann", key) == 2 * ttl
    assert rec.recommend(views[4], (), "ann").layer == "L0-cache"
    rule = learner.rules.rules_for("ann")[0]
    assert rule["id"] == r.provenance and rule["successes"] == 4


def test_replayed_corrections_change_nothing(bank: ModelBank) -> None:
    learner, rec = setup(bank)
    v = INT_CODES
    event = correction(rec.recommend(v, (), "ann"), v, "ann", feature_type="categorical",
                       transformation="one_hot", cid="once")
    assert learner.learn(event).learned
    plain = Recommender(bank, learned_rules=learner.rules)  # no cache: a fresh answer each time
    state = (bank.version("ann"), learner.extract("ann").to_bytes(),
             answers(plain, [v, PRICE], "ann"))
    for _ in range(3):
        out = learner.learn(event)
        assert out.duplicate and not out.learned
    assert state == (bank.version("ann"), learner.extract("ann").to_bytes(),
                     answers(plain, [v, PRICE], "ann"))


def test_seen_ids_are_bounded(bank: ModelBank) -> None:
    learner = Learner(bank, privacy=PrivacyGuard(epsilon=0.0), max_seen=5)
    rec = Recommender(bank)
    events = [correction(rec.recommend(PRICE, (), "u"), PRICE, "u", cid=f"id{i}")
              for i in range(8)]
    for e in events:
        learner.learn(e)
    assert not learner.seen("id0") and learner.seen("id7")


def test_invalid_labels_are_refused_before_anything_changes(bank: ModelBank) -> None:
    learner, rec = setup(bank)
    r = rec.recommend(PRICE, (), "ann")
    with pytest.raises(InvalidCorrection):
        learner.learn(correction(r, PRICE, "ann", feature_type="numeric", transformation="tfidf"))
    with pytest.raises(InvalidCorrection):
        learner.learn(correction(r, PRICE, "ann", feature_type="money"))
    assert bank.corrections("ann") == 0
    # a changed type whose old transformation no longer fits: that target is left unknown
    out = learner.learn(correction(r, PRICE, "ann", feature_type="categorical"))
    assert "transformation" not in out.label and out.label["feature_type"] == "categorical"


def test_saved_users_reload_with_identical_predictions(bank: ModelBank, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "state", KEY)
    learner, rec = setup(bank, PrivacyGuard(epsilon=0.25, seed=1), store)
    views = variants(SENTENCE, 4) + variants(INT_CODES, 4) + variants(PRICE, 2)
    for i, v in enumerate(views * 2):
        r = rec.recommend(v, (), "ann")
        label = DROP if v.word_mean else {"feature_type": "categorical"}
        learner.learn(correction(r, v, "ann", cid=f"e{i}", **label))
    expected = answers(rec, views, "ann") + answers(rec, views, "bob")
    report = learner.privacy.report("ann")
    del learner, rec

    # another process: the same prior, nothing of ann's in memory; she is loaded on demand
    learner2, rec2 = setup(bank.copy(), PrivacyGuard(epsilon=0.25), DirectoryStore(
        tmp_path / "state", KEY))
    learner2.bank.users.clear()
    for u in ("ann", "bob"):
        learner2.ensure(u)
    assert answers(rec2, views, "ann") + answers(rec2, views, "bob") == expected
    assert learner2.privacy.report("ann") == report
    assert learner2.learn(correction(rec2.recommend(PRICE, (), "ann"), PRICE, "ann",
                                     cid="e0")).duplicate


def test_a_tampered_user_blob_refuses_that_user_only(bank: ModelBank, tmp_path: Path) -> None:
    from aurora_stream.learn.learner import UserStateUnavailable
    from aurora_stream.learn.state import store_name

    store = DirectoryStore(tmp_path, KEY)
    learner, rec = setup(bank, store=store)
    for u in ("ann", "bob"):
        learner.learn(correction(rec.recommend(PRICE, (), u), PRICE, u))
    path = store.path(store_name("ann"))
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    fresh = setup(ModelBank(), store=store)[0]
    with pytest.raises(UserStateUnavailable, match="HMAC check failed"):
        fresh.ensure("ann")
    fresh.ensure("bob")  # other users are unaffected
    assert fresh.bank.corrections("bob") == 1


def test_the_cache_is_told_after_the_state_write_and_its_outage_fails_nothing(
        bank: ModelBank, tmp_path: Path) -> None:
    from aurora_stream.learn.state import store_name
    from aurora_stream.recommend.cache import DegradingCache, RedisCache

    errors = []
    dead = DegradingCache(RedisCache("redis://127.0.0.1:1/0", socket_timeout=0.2),
                          on_error=errors.append)
    store = DirectoryStore(tmp_path, KEY)
    learner = Learner(bank, cache=dead, privacy=PrivacyGuard(epsilon=0.0), store=store)
    rec = Recommender(bank, dead, learned_rules=learner.rules)
    out = learner.learn(correction(rec.recommend(PRICE, (), "ann"), PRICE, "ann", cid="z1",
                                   feature_type="categorical"))
    assert out.learned and errors  # the cache failed, the correction did not
    assert store.load(store_name("ann")) is not None
    assert learner.learn(correction(rec.recommend(PRICE, (), "ann"), PRICE, "ann",
                                    cid="z1")).duplicate


def _hundred_corrections(learner: Learner, rec: Recommender) -> None:
    views = variants(SENTENCE, 5) + variants(INT_CODES, 5) + variants(PRICE, 5)
    for i in range(100):
        v = views[i % len(views)]
        learner.learn(correction(rec.recommend(v, (), "ann"), v, "ann", **DROP))


def test_users_are_isolated_when_nothing_is_shared(bank: ModelBank) -> None:
    learner, rec = setup(bank, PrivacyGuard(epsilon=0.0))
    probe = variants(SENTENCE, 3) + variants(INT_CODES, 3) + variants(PRICE, 3)
    before = answers(Recommender(bank, learned_rules=learner.rules), probe, "bob")
    _hundred_corrections(learner, rec)
    assert bank.corrections("ann") == 100 and learner.rules.rules_for("ann")
    after = answers(Recommender(bank, learned_rules=learner.rules), probe, "bob")
    assert after == before  # byte-identical


def test_only_the_dp_prior_carries_anything_across_users(bank: ModelBank) -> None:
    learner, rec = setup(bank, PrivacyGuard(epsilon=0.25, daily_budget=1.0, seed=3,
                                            mechanism="example"))  # the old local-DP path
    before = bank.prior_version()
    views = variants(SENTENCE, 5) + variants(INT_CODES, 5) + variants(PRICE, 5)
    updates = [learner.learn(correction(rec.recommend(v, (), "ann"), v, "ann", **DROP))
               for v in (views * 7)[:100]]
    shared = [o.prior_update for o in updates if o.prior_update]
    assert bank.prior_version() == before  # nothing reaches the prior but through the topic
    for u in shared + shared:  # what every worker reads from aurora.prior-updates (twice here)
        learner.apply_prior_update(u)
    assert bank.prior_version() == f"{before}.4"  # 4 privatized updates, then budget spent
    assert learner.privacy.report("ann")["shared_today"] == 4


def test_one_users_state_moves_to_another_worker(bank: ModelBank, _prior: ModelBank,
                                                 redis_url: str) -> None:
    from aurora_stream.learn.store import RedisStore

    store = RedisStore(redis_url, KEY, prefix="test-learner-user")
    learner, rec = setup(bank, PrivacyGuard(epsilon=0.25, seed=5, mechanism="example"), store)
    views = variants(SENTENCE, 4) + variants(INT_CODES, 3)
    published = []  # the PriorUpdates the agent publishes for every worker
    for i, v in enumerate(views):
        for out in (
            learner.learn(correction(rec.recommend(v, (), "ann"), v, "ann", cid=f"u{i}", **DROP)),
            learner.learn(correction(rec.recommend(v, (), "bob"), v, "bob", cid=f"b{i}",
                                     feature_type="categorical")),
        ):
            published += [out.prior_update] if out.prior_update else []
    for update in published:
        learner.apply_prior_update(update)
    expected = answers(Recommender(bank, learned_rules=learner.rules), views, "ann")

    other = _prior.copy()  # another worker: same prior, never saw ann or bob
    worker, _ = setup(other, PrivacyGuard(epsilon=0.25, mechanism="example"), store)
    worker.ensure("ann")
    worker.ensure("carol")
    assert other.corrections("carol") == 0
    for update in published:
        worker.apply_prior_update(update)
    assert other.prior_version() == bank.prior_version() == f"{PRIOR_TAG}.8"
    assert answers(Recommender(other, learned_rules=worker.rules), views, "ann") == expected
    assert worker.privacy.report("ann")["shared_today"] == 4
    assert bank.corrections("bob") == 7 and other.corrections("bob") == 0
    assert worker.learn(correction(rec.recommend(PRICE, (), "ann"), PRICE, "ann",
                                   cid="u0")).duplicate
