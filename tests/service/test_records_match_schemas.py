"""Every event record has its committed JSON Schema (generated == committed); records round-trip."""

from __future__ import annotations

import fastjsonschema
import orjson
import pytest

from aurora_stream.wire.records import (
    RECORDS,
    ColumnChunk,
    ColumnProfile,
    CsvChunk,
    DeadLetter,
    Event,
    InvalidEvent,
    decode,
    json_schema,
    schema_path,
)
from aurora_stream.wire.topics import specs

SAMPLES: dict[str, dict] = {
    "csv-chunk": {"dataset_id": "d", "user_id": "u", "seq": 0, "last": True, "first_line": 1,
                  "data": "a,b\n1,2\n", "columns": None, "dialect": {"delimiter": ","},
                  "decode_errors": [3]},
    "rejected-row": {"dataset_id": "d", "user_id": "u", "seq": 1, "line": 7,
                     "reason": "expected 2 fields, found 3", "raw": "1,2,3"},
    "column-chunk": {"dataset_id": "d", "user_id": "u", "column": 2, "n_columns": 3, "seq": 0,
                     "last": False, "sketch": "AAAA", "flags": ["id"], "rows_in": 10,
                     "rows_rejected": 1, "mode": "edge"},
    "column-profile": {"dataset_id": "d", "user_id": "u", "column": 0, "n_columns": 1,
                       "view": {"count": 10.0, "null_frac": 0.5}, "flags": [], "rows": 10,
                       "rows_rejected": 0, "chunks": 2},
    "recommendation": {"recommendation_id": "r1", "dataset_id": "d", "user_id": "u",
                       "column": 0, "n_columns": 1, "feature_type": "numeric",
                       "transformation": "log1p", "imputation": "median", "confidence": 0.75,
                       "type_confidence": 0.9, "transformation_confidence": 0.8,
                       "imputation_confidence": 0.7, "layer": "L3-model",
                       "provenance": "global-prior", "model_version": "v1", "reason": "skewed",
                       "alternatives": [{"feature_type": "categorical", "p": 0.1}],
                       "needs_review": False, "fingerprint": {"null_frac": 0.0},
                       "fingerprint_key": "k", "rows": 10, "rows_rejected": 0,
                       "created_at": 1.5},
    "review-request": {"recommendation_id": "r1", "dataset_id": "d", "user_id": "u",
                       "column": 0, "confidence": 0.4, "options": [{"x": 1}], "reason": "?"},
    "correction": {"correction_id": "c1", "user_id": "u", "dataset_id": "d", "column": 0,
                   "recommendation_id": "r1", "accepted": False, "recommendation": {"a": 1},
                   "feature_type": "categorical", "transformation": None, "imputation": "mode",
                   "created_at": 2.0},
    "learn-event": {"kind": "applied", "user_id": "u", "correction_id": "c1",
                    "detail": {"n": 1}, "created_at": 3.0},
    "prior-update": {"update_id": "c1", "fingerprint": {"numeric_frac": 1.0},
                     "label": {"feature_type": "numeric"}, "epsilon": 0.25, "created_at": 5.0},
    "shared-aggregate": {"release_id": "w1-0a", "domain": "regions-v1",
                         "observed": [1.5, -0.25], "expected": [0.75, 2.0], "epsilon": 0.25,
                         "created_at": 6.0},
    "dead-letter": {"reason": "not JSON", "source_topic": "aurora.csv-chunks",
                    "source_partition": 0, "source_offset": 12, "created_at": 4.0,
                    "event": None},
    "refusal": {"reason": "over quota: corrections 600/min", "user_id": "u",
                "kind": "corrections", "source_topic": "aurora.corrections", "created_at": 5.0},
}


def _id(record: type[Event]) -> str:
    return record.schema_name


def test_every_record_has_a_sample_and_a_topic() -> None:
    names = {r.schema_name for r in RECORDS}
    assert names == set(SAMPLES)
    assert {n for s in specs().values() for n in s.schemas} == names


@pytest.mark.parametrize("record", RECORDS, ids=_id)
def test_committed_schema_is_the_generated_one(record: type[Event]) -> None:
    path = schema_path(record)
    assert path.is_file(), f"{path.name} missing: run python -m aurora_stream.wire.records"
    committed = orjson.loads(path.read_bytes())
    assert committed == json_schema(record), f"{path.name} is stale: regenerate it"


@pytest.mark.parametrize("record", RECORDS, ids=_id)
def test_schema_is_valid_draft_2020_12(record: type[Event]) -> None:
    schema = orjson.loads(schema_path(record).read_bytes())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validate = fastjsonschema.compile(schema)  # raises JsonSchemaDefinitionException if invalid
    validate({"v": record.schema_version, **SAMPLES[record.schema_name]})


@pytest.mark.parametrize("record", RECORDS, ids=_id)
def test_record_round_trips_through_the_wire(record: type[Event]) -> None:
    event = record(**SAMPLES[record.schema_name])
    wire = event.to_bytes()
    back = decode(record, wire)
    assert type(back) is record
    assert back == event
    assert back.asdict() == event.asdict()
    assert decode(record, back.to_bytes()).to_bytes() == wire


@pytest.mark.parametrize("record", RECORDS, ids=_id)
def test_unknown_field_and_wrong_version_are_refused(record: type[Event]) -> None:
    good = {"v": record.schema_version, **SAMPLES[record.schema_name]}
    with pytest.raises(InvalidEvent):
        decode(record, orjson.dumps({**good, "surprise": 1}))
    with pytest.raises(InvalidEvent):
        decode(record, orjson.dumps({**good, "v": record.schema_version + 1}))
    required = json_schema(record)["required"]
    with pytest.raises(InvalidEvent):
        decode(record, orjson.dumps({k: v for k, v in good.items() if k != required[-1]}))


def test_constraints_are_enforced_on_decode() -> None:
    chunk = {"v": 1, **SAMPLES["csv-chunk"]}
    with pytest.raises(InvalidEvent, match="csv-chunk schema"):
        decode(CsvChunk, orjson.dumps({**chunk, "seq": -1}))
    with pytest.raises(InvalidEvent, match="csv-chunk schema"):
        decode(CsvChunk, orjson.dumps({**chunk, "dataset_id": ""}))
    cc = {"v": 1, **SAMPLES["column-chunk"]}
    with pytest.raises(InvalidEvent):
        decode(ColumnChunk, orjson.dumps({**cc, "mode": "sideways"}))
    with pytest.raises(InvalidEvent, match="csv-chunk schema"):  # [line, characters]
        decode(CsvChunk, orjson.dumps({**chunk, "oversize": [[0]]}))
    with pytest.raises(InvalidEvent, match="column 7 of a file of 2"):
        decode(ColumnChunk, orjson.dumps({**cc, "column": 7, "n_columns": 2}))
    profile = {"v": 1, **SAMPLES["column-profile"]}
    with pytest.raises(InvalidEvent, match="column 0 of a file of 0"):
        decode(ColumnProfile, orjson.dumps({**profile, "column": 0, "n_columns": 0}))
    with pytest.raises(InvalidEvent, match="not JSON"):
        decode(DeadLetter, b"\xff")
    with pytest.raises(InvalidEvent, match="empty message"):
        decode(DeadLetter, None)
    with pytest.raises(InvalidEvent, match="JSON object"):
        decode(DeadLetter, b"[1, 2]")
