"""Classes of mistakes a practitioner would never make (issue 11), on small files written
here, never on SortingHat's data_test.csv. Each test profiles a column as the pipeline
does (``profile_values``), reduces its name to flags and asks the rules (and, where the
model matters, the shipped prior)."""

from __future__ import annotations

import random

import pytest

from aurora_stream.profile.fingerprint import name_flags
from aurora_stream.profile.sketch import profile_values
from aurora_stream.recommend.models import ModelBank
from aurora_stream.recommend.prior import load_prior
from aurora_stream.recommend.recommender import Recommender
from aurora_stream.recommend.rules import RuleSet

RNG = random.Random(11)
LAST = ["Smith", "Jones", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Lee",
        "Clark", "Lewis", "Young", "Hall", "Allen", "King", "Wright", "Scott", "Green"]
FIRST = ["John", "Mary", "Ana", "Wei", "Omar", "Lena", "Paul", "Rosa", "Ivan", "Kim"]


@pytest.fixture(scope="module")
def shipped() -> Recommender:
    return Recommender(load_prior())


def rules_type(values: list[str | None], name: str) -> str:
    return RuleSet().best(profile_values(values), name_flags(name)).feature_type


def recommend(rec: Recommender, values: list[str | None], name: str):
    return rec.recommend(profile_values(values), name_flags(name), "classes")


def test_person_names_last_first_are_not_lists(shipped: Recommender) -> None:
    names = [f"{RNG.choice(LAST)}, {RNG.choice(FIRST)}" for _ in range(300)]
    assert rules_type(names, "customer") != "list"
    assert recommend(shipped, names, "customer").feature_type != "list"


def test_county_state_pairs_are_not_lists(shipped: Recommender) -> None:
    places = [f"{c}, {s}" for c, s in zip(RNG.choices(LAST, k=300), RNG.choices(
        ["CA", "TX", "NY", "WA", "OR"], k=300), strict=True)]
    assert rules_type(places, "county") != "list"
    assert recommend(shipped, places, "county").feature_type != "list"


def test_real_lists_stay_lists() -> None:
    lists = [", ".join(str(RNG.randint(1, 9)) for _ in range(RNG.randint(1, 5)))
             for _ in range(300)]
    assert rules_type(lists, "genres") == "list"


@pytest.mark.parametrize("values", [
    ["N512UA", "N27213", "N801DN", "N3743H", "N924AN"],
    ["A320-214", "B737-800", "A321-231", "B777-300ER", "E190-100"],
    ["k10452", "k20981", "k33017", "k41210", "k50001"],
    ["#1E90FF", "#FF6347", "#2E8B57", "#DAA520", "#8A2BE2"],
    ["C-3PO", "R2-D2", "BB-8", "K-2SO", "IG-88"],
    ["1.2.3", "2.0.1", "v3.10.4", "0.9.12", "v1.0"],
    ["2003 Q2", "2003 Q3", "2011 W14", "2012 W01", "Q4 2019"],
])
def test_codes_versions_and_periods_are_not_embedded_numbers(values: list[str]) -> None:
    view = profile_values(values * 40)
    assert view.embedded_number_frac == 0.0
    assert rules_type(values * 40, "tail") != "embedded-number"


@pytest.mark.parametrize("fmt", ["{:.0f}cm", "{:.1f} kg", "${:,.0f}"])
def test_numbers_with_units_or_signs_are_embedded_numbers(fmt: str) -> None:
    values = [fmt.format(RNG.uniform(50, 5000)) for _ in range(300)]
    assert rules_type(values, "weight") == "embedded-number"


def test_thousands_separated_numbers_are_embedded_numbers() -> None:
    values = [f"{RNG.randint(1_000, 90_000_000):,}" for _ in range(300)]
    hit = RuleSet().best(profile_values(values), name_flags("population"))
    assert hit.feature_type == "embedded-number" and "thousands" in hit.reason


def test_zip_codes_are_categorical_not_numeric(shipped: Recommender) -> None:
    zips = [str(RNG.choice([98101, 98109, 10001, 94105, 73301, 60614])) for _ in range(300)]
    assert rules_type(zips, "zip_code") == "categorical"
    assert recommend(shipped, zips, "zip_code").feature_type == "categorical"


def test_repeating_integer_ids_are_not_quantities(shipped: Recommender) -> None:
    ids = [str(RNG.randint(1, 5000)) for _ in range(3000)]
    assert rules_type(ids, "user_id") not in ("numeric", "categorical")
    assert recommend(shipped, ids, "user_id").feature_type != "numeric"


def test_epoch_milliseconds_under_a_time_name_are_datetimes() -> None:
    ms = [str(1_600_000_000_000 + RNG.randint(0, 10**10)) for _ in range(300)]
    hit = RuleSet().best(profile_values(ms), name_flags("event_timestamp"))
    assert hit.feature_type == "datetime" and hit.transformation == "to_timestamp"


@pytest.mark.parametrize("name,hi", [("siblings", 6), ("goals", 8), ("beds", 5),
                                     ("quantity", 12)])
def test_small_counts_are_numeric(shipped: Recommender, name: str, hi: int) -> None:
    counts = [str(RNG.randint(0, hi)) for _ in range(500)]
    assert rules_type(counts, name) == "numeric"
    assert recommend(shipped, counts, name).feature_type == "numeric"


def test_a_nearly_empty_column_goes_to_review() -> None:
    values: list[str | None] = [None] * 995 + ["3", "4", "5", "4", "3"]
    for rec in (Recommender(ModelBank()), Recommender(load_prior())):
        r = recommend(rec, values, "extra")
        assert r.needs_review and r.type_confidence <= 0.5
        assert "empty" in r.reason


@pytest.mark.parametrize("marker", ["NA", "N/A", "?", "-", "null", "None", " na "])
def test_missing_markers_count_as_missing(marker: str) -> None:
    view = profile_values(["1.5", "2.5", marker, "3.0", marker])
    assert view.null_count == 2 and view.numeric_frac == 1.0


def test_a_numeric_column_mostly_empty_gets_an_imputation_and_an_indicator(
        shipped: Recommender) -> None:
    values = [None if RNG.random() < 0.61 else f"{RNG.gauss(50, 10):.2f}" for _ in range(500)]
    r = recommend(shipped, values, "reading")
    assert r.feature_type == "numeric" and r.imputation != "none"
    hit = RuleSet().best(profile_values(values), ())
    assert hit.imputation == "constant"
    from aurora_stream.recommend.policy import choose_imputation
    assert "missing-indicator" in choose_imputation("numeric", profile_values(values))[2]


def test_high_cardinality_categoricals_are_not_one_hot(shipped: Recommender) -> None:
    cities = [f"city{RNG.randint(1, 600)}x" for _ in range(5000)]
    cities = [c.replace("1", "a").replace("2", "b") for c in cities]
    from aurora_stream.recommend.policy import choose_transformation
    view = profile_values(cities)
    assert choose_transformation("categorical", view)[0] == "frequency"
    r = recommend(shipped, cities, "city")
    if r.feature_type == "categorical":
        assert r.transformation != "one_hot"


def test_heavy_tails_get_log1p_or_robust_scaling() -> None:
    from aurora_stream.recommend.policy import choose_transformation
    values = [f"{RNG.paretovariate(1.2):.3f}" for _ in range(2000)]
    assert choose_transformation("numeric", profile_values(values))[0] in (
        "log1p", "robust_scale", "clip_outliers")
