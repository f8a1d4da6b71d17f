"""The learned name-flag vocabulary is what its generator computes from data_train.csv."""

from __future__ import annotations

import pytest

from aurora_stream.profile import fingerprint
from aurora_stream.training import name_vocab


def test_learned_flags_are_reproducible_from_the_public_training_file() -> None:
    if not name_vocab.DATA.is_file():
        pytest.skip("SortingHat data_train.csv not available")
    assert fingerprint.LEARNED_FLAGS == name_vocab.learned_tokens()


def test_vocabulary_is_fixed_and_a_few_hundred_tokens() -> None:
    assert 200 <= len(fingerprint.NAME_FLAGS) <= 400
    assert len(set(fingerprint.NAME_FLAGS)) == len(fingerprint.NAME_FLAGS)
    # a name outside the vocabulary leaves nothing behind
    assert fingerprint.name_flags("zqxjv_wibble") == ()
    assert fingerprint.name_flags("num_siblings") == ("count", "number")


def test_the_test_file_is_refused() -> None:
    with pytest.raises(ValueError, match="held out"):
        name_vocab.learned_tokens(name_vocab.DATA.with_name("data_test.csv"))
