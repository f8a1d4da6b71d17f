"""L5: prequential champion/challenger, promotion when clearly better, rollback on regression."""

from __future__ import annotations

import random

from river import dummy

from aurora_stream.learn.champion import ChampionChallenger, ModelSwitch
from aurora_stream.learn.learner import Learner
from aurora_stream.privacy.dp import PrivacyGuard
from aurora_stream.recommend.models import ModelBank, user_model

TYPES = ("numeric", "categorical", "datetime")


def stream(n: int, seed: int, constant: str | None = None):
    """Events whose type follows one bucket of the fingerprint (or is ``constant``)."""
    rng = random.Random(seed)
    for _ in range(n):
        c = rng.randrange(len(TYPES))
        yield {"numeric_frac": c / 2}, {"feature_type": constant or TYPES[c]}


def run(l5: ChampionChallenger, bank: ModelBank, events) -> list[tuple[int, ModelSwitch]]:
    switches = []
    for i, (fp, y) in enumerate(events):
        s = l5.observe(bank, fp, y, "ann")
        if s is not None:
            switches.append((i, s))
    return switches


def test_a_clearly_better_challenger_is_promoted_then_a_regression_rolls_back() -> None:
    # champion: repeats the last label (1/3 right here); challenger: naive Bayes (learns it)
    bank = ModelBank(user_factory=dummy.NoChangeClassifier)
    l5 = ChampionChallenger(challenger_factory=user_model, names=("last", "mnb"))
    switches = run(l5, bank, stream(60, seed=1))
    assert len(switches) == 1
    i, s = switches[0]
    assert s.kind == "promote" and s.n == 50 and i == 49  # at the 50th event
    assert (s.from_version, s.to_version) == ("user:ann@last.g0", "user:ann@mnb.g1")
    # served accuracy: the first corrections of each region precede any local evidence
    assert s.to_accuracy >= s.from_accuracy + 0.05 and s.to_accuracy > 0.8
    assert "MultinomialNB" in repr(bank.users["ann"].models["feature_type"])
    # the world changes: every column is now a date; repeating the last label wins
    i, s = run(l5, bank, stream(100, seed=2, constant="datetime"))[0]
    assert s.kind == "rollback" and s.n == 50 and i == 39  # 10 + 40 events after promotion
    assert (s.from_version, s.to_version) == ("user:ann@mnb.g1", "user:ann@last.g2")
    assert s.from_accuracy < s.to_accuracy - 0.05
    assert isinstance(bank.users["ann"].models["feature_type"], dummy.NoChangeClassifier)


def test_no_switch_without_a_margin_and_switches_reach_the_learner() -> None:
    bank = ModelBank(user_factory=user_model)
    l5 = ChampionChallenger(challenger_factory=user_model)  # the same model twice: ties
    assert run(l5, bank, stream(400, seed=3)) == []
    champ, chall, n = l5.accuracies("ann")
    assert n == 200 and champ == chall


def test_learner_reports_the_switch_and_persists_the_duel(tmp_path) -> None:
    from learn_helpers import PRICE, correction

    from aurora_stream.learn.store import DirectoryStore
    from aurora_stream.recommend.recommender import Recommender

    bank = ModelBank(user_factory=dummy.NoChangeClassifier)
    store = DirectoryStore(tmp_path, b"k" * 32)
    learner = Learner(bank, privacy=PrivacyGuard(epsilon=0.0), store=store,
                      champion=ChampionChallenger(challenger_factory=user_model))
    rec = Recommender(bank)
    r = rec.recommend(PRICE, (), "ann")
    outs = []
    for i, (fp, y) in enumerate(stream(80, seed=4)):
        e = correction(r, PRICE, "ann", cid=f"x{i}", feature_type=y["feature_type"])
        e = type(e)(**{**e.__dict__, "fingerprint": fp})
        outs.append(learner.apply(e))
    switched = [o.switch for o in outs if o.switch is not None]
    assert [s.kind for s in switched] == ["promote"]
    learner.save(["ann"])
    again = Learner(ModelBank(), privacy=PrivacyGuard(epsilon=0.0), store=store,
                    champion=ChampionChallenger(challenger_factory=user_model))
    again.ensure("ann")
    assert again.champion.version("ann") == learner.champion.version("ann")
    assert again.champion.accuracies("ann") == learner.champion.accuracies("ann")


def test_a_swap_changes_the_served_version_so_cached_answers_miss() -> None:
    bank = ModelBank(user_factory=dummy.NoChangeClassifier)
    l5 = ChampionChallenger(challenger_factory=user_model, names=("last", "mnb"))
    versions = []
    for fp, y in stream(60, seed=1):
        versions.append(bank.version("ann"))
        l5.observe(bank, fp, y, "ann")
    assert versions[49] == "user:ann@v49+prior-v0"  # before the promotion at the 50th
    assert bank.version("ann") == "user:ann@v60.g1+prior-v0"
    assert bank.users["ann"].generation == 1
