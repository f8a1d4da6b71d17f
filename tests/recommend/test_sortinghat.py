"""SortingHat rows as ProfileViews: known fields mapped, unknown ones left None; replay
learns every row of a file, never data_test.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aurora_stream.recommend.models import ModelBank
from aurora_stream.training.sortinghat import examples, replay_sortinghat, row_to_view

COLUMNS = ("Record_id,Attribute_name,y_act,total_vals,num_nans,%_nans,num_of_dist_val,"
           "%_dist_val,mean,std_dev,min_val,max_val,sample_1,sample_2,sample_3,sample_4,"
           "sample_5,has_delimiters,has_url,has_email,has_date,mean_word_count,"
           "std_dev_word_count,mean_stopword_total,stdev_stopword_total,mean_char_count,"
           "stdev_char_count,mean_whitespace_count,stdev_whitespace_count,mean_delim_count,"
           "stdev_delim_count,is_list,is_long_sentence").split(",")


def row(**kw: object) -> dict[str, object]:
    base = dict.fromkeys(COLUMNS, "0")
    base.update({"Record_id": "1", "Attribute_name": "Area Code", "y_act": "categorical",
                 "total_vals": "200", "num_nans": "50", "%_nans": "25.0",
                 "num_of_dist_val": "10", "%_dist_val": "5.0", "has_delimiters": "False",
                 "has_url": "False", "has_email": "False", "has_date": "False",
                 "is_list": "False", "is_long_sentence": "False"})
    base.update({k: str(v) for k, v in kw.items()})
    return base


def test_counts_map_and_unknown_fields_stay_none() -> None:
    v = row_to_view(row(mean="125.4", std_dev="72.8", min_val="1", max_val="276",
                        sample_1="2", sample_2="3", sample_3="4", sample_4="7", sample_5="8",
                        mean_word_count="1", mean_char_count="1.2"))
    assert (v.count, v.null_count, v.null_frac, v.distinct_count) == (200, 50, 0.25, 10)
    assert v.distinct_frac == pytest.approx(10 / 150)
    assert (v.is_unique, v.is_constant) == (0.0, 0.0)
    assert (v.mean, v.std, v.min, v.max, v.negative_frac) == (125.4, 72.8, 1.0, 276.0, 0.0)
    assert (v.numeric_frac, v.int_frac, v.word_mean, v.len_mean) == (1.0, 1.0, 1.0, 1.2)
    for unknown in ("top1_frac", "top5_frac", "skew", "kurtosis", "q01", "q25", "q50", "q75",
                    "q99", "zero_frac", "len_min", "len_max", "is_monotonic"):
        assert getattr(v, unknown) is None, unknown


def test_text_columns_do_not_get_sortinghats_placeholder_zero_moments() -> None:
    v = row_to_view(row(sample_1="Food", sample_2="Feed", sample_3="Food", sample_4="Food",
                        sample_5="None"))
    assert v.mean is None and v.min is None and v.negative_frac is None
    assert v.numeric_frac == 0.0 and v.alpha_frac == 1.0  # 'None' sample is a null


def test_column_level_flags_raise_a_shape_the_samples_missed() -> None:
    v = row_to_view(row(sample_1="a", has_url="True", is_list="True"))
    assert v.url_frac == 0.2 and v.list_frac == 0.2


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


def test_replay_reads_quoted_multiline_samples_and_learns_every_row(tmp_path: Path) -> None:
    rows = [row(sample_1='He said "hi",\nthen left', y_act="sentence",
                mean_word_count="6", Attribute_name="comment"),
            row(sample_1="https://a.org/x", y_act="url", Attribute_name="link"),
            row(sample_1="1,2,3", y_act="list", Attribute_name="tags")]
    path = write(tmp_path / "data_train.csv", rows)
    assert [e.feature_type for e in examples(path)] == ["sentence", "url", "list"]
    assert examples(path)[1].flags == ("link",)
    bank = ModelBank()
    assert replay_sortinghat(path, bank, epochs=2) == 3
    assert bank.prior_version() == "prior-v0.6" and bank.users == {}
    assert replay_sortinghat(path, bank, user_id="ann", to_prior=False, epochs=1) == 3
    assert bank.corrections("ann") == 3


def test_replay_refuses_the_held_out_test_file(tmp_path: Path) -> None:
    path = write(tmp_path / "data_test.csv", [row()])
    with pytest.raises(ValueError, match="held out"):
        replay_sortinghat(path, ModelBank())
