"""Shape detection on realistic columns: each column is recognized for what it looks like."""

from __future__ import annotations

import pytest

from aurora_stream.profile.sketch import profile_values

COLUMNS = {
    "date": ["2020-01-05", "05/01/2020", "1/5/20", "Jan 5 2020", "5 January 2020",
             "2021-03-04T10:20:30Z", "2021-03-04 10:20", "Monday, January 5th, 2020",
             "05-Jan-2020", "Mar 2019"],
    "time": ["10:30", "3:45 PM", "23:59:59", "07:00 am", "12:00:00.250"],
    "email": ["ann@example.com", "bob.smith+news@mail.co.uk", "x_y@host-name.org"],
    "url": ["https://example.org/a?b=1", "http://x.io", "www.example.com/page", "ftp://f.net/x"],
    "phone": ["(555) 123-4567", "+1 555 123 4567", "555-123-4567", "+44 20 7946 0958",
              "555.123.4567 ext 12"],
    "currency": ["$5", "$1,234.50", "€3.20", "5 USD", "EUR 12", "£ 7", "-$3"],
    "percent": ["12%", "3.5 %", "-0.1%", "100%"],
    "list": ["a, b, c", "x|y|z", "[1, 2]", "red;green;blue", "['a', 'b']", "tag one, tag two"],
    "embedded_number": ["12 kg", "$5M", "Apt 4", "Room 101B", "v2.3 beta", "5 years"],
    "bool": ["true", "False", "yes", "NO", "y", "n", "T", "f"],
    "leading_zero": ["00123", "02134", "0007", "01"],
}


@pytest.mark.parametrize("shape", sorted(COLUMNS))
def test_each_realistic_column_is_recognized_by_its_shape(shape):
    view = profile_values(COLUMNS[shape])
    assert getattr(view, f"{shape}_frac") == 1.0, shape


@pytest.mark.parametrize("shape", sorted(COLUMNS))
def test_shapes_do_not_claim_each_others_columns(shape):
    """Dates are not phones, lists are not numbers ...; only documented overlaps remain."""
    overlaps = {"currency": {"embedded_number"}, "percent": {"embedded_number"},
                "leading_zero": {"numeric", "int"}, "embedded_number": {"currency"}}
    view = profile_values(COLUMNS[shape])
    exclusive = {"date", "time", "email", "url", "phone", "list", "embedded_number", "bool",
                 "numeric"}
    for other in exclusive - {shape} - overlaps.get(shape, set()):
        assert getattr(view, f"{other}_frac") < 0.5, (shape, other)


def test_numbers_with_thousands_separators_parse_and_non_finite_do_not():
    view = profile_values(["1,234", "-5", "3.25", "1e3", " 7 ", "1e999", "nan", "inf"])
    assert view.null_count == 1  # "nan" is a missing marker
    assert view.numeric_frac == pytest.approx(5 / 7)
    assert view.int_frac == pytest.approx(3 / 7)
    assert view.float_frac == pytest.approx(2 / 7)
    assert view.negative_frac == pytest.approx(1 / 5)


def test_ids_are_unique_monotonic_integers():
    view = profile_values([str(1000 + i) for i in range(500)])
    assert (view.is_unique, view.is_monotonic, view.int_frac) == (1.0, 1.0, 1.0)
    assert view.distinct_frac == pytest.approx(1.0, abs=0.05)  # HLL estimate
    assert view.top1_frac < 0.03  # frequent-items error: 3.5/128 of the count at most


def test_zip_codes_keep_their_leading_zeros_visible():
    view = profile_values(["02134", "10001", "00501", "94105", "02134"])
    assert view.leading_zero_frac == pytest.approx(3 / 5)
    assert view.is_unique == 0.0 and view.distinct_count == 4


def test_categorical_column_has_low_cardinality_and_heavy_top_values():
    values = ["red"] * 50 + ["green"] * 30 + ["blue"] * 15 + ["pink"] * 5 + [None] * 10
    view = profile_values(values)
    assert view.null_frac == pytest.approx(10 / 110)
    assert view.distinct_count == 4
    assert view.top1_frac == pytest.approx(0.5) and view.top5_frac == pytest.approx(1.0)
    assert view.alpha_frac == 1.0 and view.numeric_frac == 0.0


def test_constant_column_is_constant():
    view = profile_values(["x"] * 20)
    assert view.is_constant == 1.0 and view.is_unique == 0.0


def test_sentences_have_words_whitespace_and_stopwords():
    view = profile_values(["The cat sat on the mat.", "It was a very good day for a walk."])
    assert view.word_mean == pytest.approx(7.5)
    assert view.whitespace_mean == pytest.approx(6.5)
    assert view.stopword_mean == pytest.approx((3 + 6) / 2)  # the on the | it was a very for a
    assert view.list_frac == 0.0 and view.embedded_number_frac == 0.0


def test_numeric_moments_and_quantiles_are_those_of_the_numbers():
    view = profile_values([str(x) for x in range(1, 101)] + ["n/a", "text"])
    assert view.null_count == 1 and view.numeric_frac == pytest.approx(100 / 101)
    assert view.mean == pytest.approx(50.5) and view.std == pytest.approx(28.9)
    assert view.skew == pytest.approx(0.0, abs=1e-9)
    assert view.kurtosis == pytest.approx(-1.2, abs=1e-2)
    assert (view.min, view.q50, view.max) == (1.0, 50.0, 100.0)
