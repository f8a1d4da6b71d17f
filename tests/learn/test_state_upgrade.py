"""State written by release 0.1.0 loads after the upgrade: same versions, rules, budgets and
answers, once migrated (with a message), and a replayed correction is still a duplicate."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from learn_helpers import INT_CODES, PRICE, SENTENCE, correction

from aurora_stream.learn.persistence import build_learner
from aurora_stream.learn.state import UserState, store_name
from aurora_stream.recommend.cache import InProcessCache
from aurora_stream.recommend.decision import Recommendation
from aurora_stream.recommend.prior import PRIOR_TAG
from aurora_stream.recommend.recommender import Recommender

FIXTURE = Path(__file__).parent / "fixtures" / "home-v0.1.0"


def _decided(r: Recommendation) -> tuple:
    return (r.feature_type, r.transformation, r.imputation, r.layer, r.provenance,
            r.needs_review, [(o.feature_type, o.transformation, o.imputation)
                             for o in r.alternatives])


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    (home / "state.key").chmod(0o600)
    # as 0.1.0 left it: alice's blob written after the snapshot (git does not keep mtimes)
    os.utime(home / "state" / "learner.state", (1_700_000_000, 1_700_000_000))
    os.utime(home / "state" / f"{store_name('alice')}.state", (1_700_000_100, 1_700_000_100))
    return home


def test_release_0_1_0_state_loads_and_answers_the_same(old_home: Path, capsys) -> None:
    expected = json.loads((old_home / "expected.json").read_text())
    learner = build_learner(old_home, InProcessCache())
    assert "upgraded learned state of release 0.1.0 (2 users, prior-v1.6)" in \
        capsys.readouterr().err
    assert not (old_home / "state" / "learner.state").exists()
    assert (old_home / "state" / "learner.state.0.1.0.bak").exists()
    rec = Recommender(learner.bank, learned_rules=learner.rules)
    # 0.1.0 shipped prior-v1: while that is still the shipped prior, the saved prior and
    # every answer come back unchanged; a newer shipped prior (prior-v2: learned from
    # SortingHat data_train) replaces the saved one (learner.py), so versions name it and
    # answers are the new prior's, while users' corrections, rules and budgets come along
    same_prior = PRIOR_TAG == "prior-v1"
    for user in ("alice", "bob", "carol"):
        learner.ensure(user)
        want_version = expected["versions"][user]
        if not same_prior:
            want_version = want_version.replace("prior-v1.6", PRIOR_TAG)
        assert learner.bank.version(user) == want_version
        if not same_prior:
            continue
        got = [rec.recommend(v, (), user) for v in (INT_CODES, SENTENCE, PRICE)]
        want = [Recommendation.from_dict(d) for d in expected["answers"][user]]
        assert [_decided(g) for g in got] == [_decided(w) for w in want]
        assert [g.confidence for g in got] == pytest.approx([w.confidence for w in want],
                                                            abs=1e-9)
    assert learner.bank.prior_version() == (expected["prior_version"] if same_prior
                                            else PRIOR_TAG)
    for user in ("alice", "bob"):
        assert learner.rules.rules_for(user) == expected["rules"][user]
        assert learner.privacy.report(user)["shared_total"] == expected["privacy"][user]
    # the seen ids came along: a replay of a 0.1.0 correction changes nothing
    r = rec.recommend(PRICE, (), "alice")
    assert learner.learn(correction(r, PRICE, "alice", cid="alice-late")).duplicate

    # a second start does not migrate again, and finds the same state
    again = build_learner(old_home, InProcessCache())
    assert "upgraded" not in capsys.readouterr().err
    again.ensure("alice")
    assert again.bank.version("alice") == learner.bank.version("alice")


def test_every_user_is_one_blob_in_the_current_format(old_home: Path) -> None:
    build_learner(old_home, InProcessCache())
    from aurora_stream.learn.persistence import local_store

    store = local_store(old_home)
    for user in ("alice", "bob"):
        data = store.load(store_name(user))
        assert data is not None and data.startswith(b"AUU2")
        assert UserState.from_bytes(data).user_id == user
