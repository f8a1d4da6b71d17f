"""Fingerprints: deterministic, bucketed, name-free; flags only from the fixed vocabulary."""

from __future__ import annotations

import pytest

from aurora_stream.profile.fingerprint import NAME_FLAGS, fingerprint, fingerprint_key, name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.profile.view import ProfileView


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("customerZipCode2", ("code", "zip")),
        ("user_id", ("id", "user")),  # "user": learned from public names
        ("Is Active", ("is",)),
        ("BirthDate", ("date", "birth")),
        ("HTTPStatusCode", ("code", "status")),
        ("numOfRooms", ("count", "number", "of")),  # rooms: counted
        ("Longitude", ("lon",)),
        ("paid", ("paid",)),  # a learned token; no substring "id" inside
        ("xyzzy", ()),
    ],
)
def test_name_flags_tokenize_and_keep_only_vocabulary(name, flags):
    assert name_flags(name) == flags
    assert set(name_flags(name)) <= set(NAME_FLAGS)


def test_fingerprint_is_deterministic():
    values = ["3", "5", None, "8.5", "13"]
    a = fingerprint(profile_values(values), ("price",))
    b = fingerprint(profile_values(values), ("price",))
    assert a == b and fingerprint_key(a) == fingerprint_key(b)
    assert list(fingerprint_key(a)) and len(fingerprint_key(a)) == 24


def test_slightly_different_columns_share_a_key():
    a = [str(100 + i) for i in range(200)] + [None] * 5
    b = [str(101 + i) for i in range(205)] + [None] * 6
    assert fingerprint_key(fingerprint(profile_values(a))) == fingerprint_key(
        fingerprint(profile_values(b))
    )


def test_different_kinds_of_columns_get_different_keys():
    numbers = fingerprint(profile_values([str(i) for i in range(100)]))
    words = fingerprint(profile_values(["red", "green", "blue", "red"] * 25))
    assert fingerprint_key(numbers) != fingerprint_key(words)


def test_fingerprint_is_bucketed_and_leaves_missing_fields_out():
    fp = fingerprint(ProfileView(null_frac=0.123, count=1234.0, mean=-987.6))
    assert fp == {"null_frac": 0.1, "count": 3.0, "mean": -3.0}
    assert fingerprint(ProfileView()) == {}


def test_fractions_keep_none_and_all_apart_from_almost():
    fp = fingerprint(ProfileView(null_frac=0.001, numeric_frac=0.999, url_frac=0.0,
                                 alpha_frac=1.0))
    assert fp == {"null_frac": 0.05, "numeric_frac": 0.95, "url_frac": 0.0, "alpha_frac": 1.0}


def test_flags_become_indicators_and_unknown_flags_are_dropped():
    fp = fingerprint(ProfileView(), ("id", "zip", "customer_secret"))
    assert fp == {"flag:id": 1.0, "flag:zip": 1.0}
