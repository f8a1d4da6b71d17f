"""The event records every topic carries, and their JSON Schemas.

One ``faust.Record`` per event type. ``schemas/<name>.v<version>.json`` is generated from
these classes (``python -m aurora_stream.wire.records``) and a test checks that the two agree.
Agents receive raw bytes and call :func:`decode`, which validates against the schema file,
so that an invalid event becomes a dead letter instead of an exception inside Faust.

Privacy: only ``CsvChunk`` and ``RejectedRow`` carry raw values or column names. Every other
event identifies a column by its position and carries statistics only.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import fastjsonschema
import faust
import orjson

from aurora_stream.vocab import ALL_TRANSFORMATIONS, FEATURE_TYPES, IMPUTATIONS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
_ID = {"type": "string", "minLength": 1, "maxLength": 200}


class Event(faust.Record, abstract=True):
    """Base of every event: a schema name and version, checked on decode."""

    schema_name = ""
    schema_version = 1
    description = ""
    constraints = {}

    def invariant(self) -> str | None:
        """What is wrong with a schema-valid event across its fields (None: nothing)."""
        return None

    def to_bytes(self) -> bytes:
        """The JSON bytes that go on the wire (``v`` carries the schema version)."""
        return orjson.dumps({"v": self.schema_version, **self.asdict()})


class CsvChunk(Event):
    """Row-aligned text of one part of a CSV file (raw data: short retention)."""

    schema_name = "csv-chunk"
    description = (
        "Row-aligned records of a CSV file; data holds records only (no header). "
        "Raw data: the only event besides rejected-row that holds cell values."
    )
    constraints = {
        "dataset_id": _ID, "user_id": _ID, "seq": {"minimum": 0}, "first_line": {"minimum": 1},
        "oversize": {"items": {"type": "array", "items": {"type": "integer", "minimum": 1},
                               "minItems": 2, "maxItems": 2}},
    }

    dataset_id: str
    user_id: str
    seq: int
    last: bool
    first_line: int
    data: str
    columns: list[str] | None = None
    dialect: dict[str, Any] | None = None
    decode_errors: list[int] | None = None
    # [line, characters] of records the reader cut out for exceeding its record limit:
    # the parse stage reports each as a rejected row (the data never fit an event)
    oversize: list[list[int]] | None = None


class RejectedRow(Event):
    """A record the parser refused, with its line number (raw data: short retention)."""

    schema_name = "rejected-row"
    description = "A CSV record the parser refused, kept with its raw text."
    constraints = {"line": {"minimum": 1}}

    dataset_id: str
    user_id: str
    seq: int
    line: int
    reason: str
    raw: str


class ColumnChunk(Event):
    """The mergeable sketch of one column of one chunk; no raw value, no column name."""

    schema_name = "column-chunk"
    description = (
        "Sketch of one column of one chunk (base64 of ColumnSketch bytes); the column is a "
        "position and its name survives only as flags from a fixed vocabulary."
    )
    constraints = {
        "dataset_id": _ID, "user_id": _ID, "column": {"minimum": 0},
        "n_columns": {"minimum": 1}, "seq": {"minimum": 0}, "mode": {"enum": ["raw", "edge"]},
    }

    dataset_id: str
    user_id: str
    column: int
    n_columns: int
    seq: int
    last: bool
    sketch: str
    flags: list[str]
    rows_in: int
    rows_rejected: int
    mode: str = "raw"

    def invariant(self) -> str | None:
        return _column_of(self.column, self.n_columns)


class ColumnProfile(Event):
    """The finished profile of one column of one file (statistics only)."""

    schema_name = "column-profile"
    description = "Merged profile view of one column once all its chunks arrived."
    constraints = {"column": {"minimum": 0}}

    dataset_id: str
    user_id: str
    column: int
    n_columns: int
    view: dict[str, float]
    flags: list[str]
    rows: int
    rows_rejected: int
    chunks: int

    def invariant(self) -> str | None:
        return _column_of(self.column, self.n_columns)


class Recommendation(Event):
    """How to prepare one column, who decided, how sure, and why."""

    schema_name = "recommendation"
    description = (
        "The recommendation for one column; recommendation_id is stable for a (dataset, "
        "column), so a consumer deduplicates redeliveries by it. seal lets the workers check "
        "that a correction echoes a recommendation they issued, to that user."
    )
    constraints = {
        "feature_type": {"enum": list(FEATURE_TYPES)},
        "transformation": {"enum": list(ALL_TRANSFORMATIONS)},
        "imputation": {"enum": list(IMPUTATIONS)},
        "confidence": {"minimum": 0, "maximum": 1},
        "layer": {"enum": ["L0-cache", "L1-learned-rule", "L2-symbolic-rule", "L3-model"]},
    }

    recommendation_id: str
    dataset_id: str
    user_id: str
    column: int
    n_columns: int
    feature_type: str
    transformation: str
    imputation: str
    confidence: float
    type_confidence: float
    transformation_confidence: float
    imputation_confidence: float
    layer: str
    provenance: str
    model_version: str
    reason: str
    alternatives: list[dict[str, Any]]
    needs_review: bool
    fingerprint: dict[str, float]
    fingerprint_key: str
    rows: int
    rows_rejected: int
    created_at: float
    seal: str | None = None  # HMAC of the fields learning relies on (recommend/seal.py)


class ReviewRequest(Event):
    """Asks a person to choose when the recommender is unsure (L4)."""

    schema_name = "review-request"
    description = "Top three options with reasons for a low-confidence column."

    recommendation_id: str
    dataset_id: str
    user_id: str
    column: int
    confidence: float
    options: list[dict[str, Any]]
    reason: str


class Correction(Event):
    """A person's acceptance or correction of one recommendation."""

    schema_name = "correction"
    description = (
        "Accept (accepted=true, no fields) or correct any of type, transformation, imputation. "
        "recommendation echoes the recommendation event being corrected."
    )
    constraints = {
        "correction_id": _ID, "user_id": _ID,
        "feature_type": {"enum": [*FEATURE_TYPES, None]},
        "transformation": {"enum": [*ALL_TRANSFORMATIONS, None]},
        "imputation": {"enum": [*IMPUTATIONS, None]},
    }

    correction_id: str
    user_id: str
    dataset_id: str
    column: int
    recommendation_id: str
    accepted: bool
    recommendation: dict[str, Any]
    feature_type: str | None = None
    transformation: str | None = None
    imputation: str | None = None
    created_at: float = 0.0


class LearnEvent(Event):
    """What the learn agent did: applied a correction, induced a rule, switched a model."""

    schema_name = "learn-event"
    description = "Outcome of learning: applied, duplicate, rule, promote, rollback."
    constraints = {
        "kind": {"enum": ["applied", "duplicate", "rule-induced", "promote", "rollback",
                          "prior-update"]},
    }

    kind: str
    user_id: str
    correction_id: str
    detail: dict[str, Any]
    created_at: float


class PriorUpdateEvent(Event):
    """One differentially private example for the shared prior (no user, no raw value)."""

    schema_name = "prior-update"
    description = (
        "A privatized (fingerprint, feature type) pair every worker learns into its copy of "
        "the shared prior, once per update_id, in topic order."
    )
    constraints = {"update_id": _ID, "epsilon": {"minimum": 0}}

    update_id: str
    fingerprint: dict[str, float]
    label: dict[str, str]
    epsilon: float
    created_at: float


class SharedAggregateEvent(Event):
    """One central-DP release of many users' corrections for the shared prior: noised sums
    over a fixed public domain (no user, no raw value, no name; privacy/aggregate.py)."""

    schema_name = "shared-aggregate"
    description = (
        "Laplace-noised sums over the fixed domain (regions of the shared fingerprint "
        "features x feature types): corrections observed per type and the prior's expected "
        "probability mass; every worker adds it to its shared prior once per release_id, in "
        "topic order. Published on aurora.prior-updates beside the older prior-update events."
    )
    constraints = {"release_id": _ID, "epsilon": {"minimum": 0}, "domain": _ID}

    release_id: str
    domain: str
    observed: list[float]
    expected: list[float]
    epsilon: float
    created_at: float


class DeadLetter(Event):
    """An event an agent could not accept, with where it came from and why."""

    schema_name = "dead-letter"
    description = (
        "Invalid input: reason, source topic/partition/offset and message key (a dataset or "
        "user id); the event itself only when it comes from a topic that holds no raw values."
    )

    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    created_at: float
    key: str | None = None
    event: str | None = None


class Refusal(Event):
    """An event refused for its sender (over quota, or not signed by her), keyed by user so
    the sender can read why; never the refused event itself."""

    schema_name = "refusal"
    description = (
        "Why an event from this user was refused (over quota: kind is chunk_bytes or "
        "corrections; identity: kind is identity), and on which topic it came."
    )
    constraints = {"user_id": _ID, "kind": _ID, "reason": {"minLength": 1, "maxLength": 500}}

    reason: str
    user_id: str
    kind: str
    source_topic: str
    created_at: float


RECORDS: tuple[type[Event], ...] = (
    CsvChunk, RejectedRow, ColumnChunk, ColumnProfile, Recommendation, ReviewRequest,
    Correction, LearnEvent, PriorUpdateEvent, SharedAggregateEvent, DeadLetter, Refusal,
)

E = TypeVar("E", bound=Event)


def _column_of(column: int, n_columns: int) -> str | None:
    if column >= n_columns:
        return f"column {column} of a file of {n_columns} column(s)"
    return None


class InvalidEvent(ValueError):
    """The bytes are not a valid event of the expected type; the message says why."""


def _json_type(tp: Any) -> dict:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = _json_type(inner[0])
        t = schema.get("type")
        return {**schema, "type": [t, "null"]} if isinstance(t, str) else schema
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if origin is list:
        return {"type": "array", "items": _json_type(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _json_type(args[1])}
    if tp is Any:
        return {}
    raise TypeError(f"no JSON type for {tp!r}")


def json_schema(record: type[Event]) -> dict:
    """The JSON Schema (draft 2020-12) of a record class, generated from its annotations."""
    hints = typing.get_type_hints(record, globalns=vars(sys.modules[__name__]))
    props: dict[str, dict] = {
        "v": {"const": record.schema_version, "description": "schema version"}
    }
    required = ["v"]
    defaults = record._options.defaults  # type: ignore[attr-defined]
    for name in record._options.fields:  # type: ignore[attr-defined]
        props[name] = {**_json_type(hints[name]), **record.constraints.get(name, {})}
        if name not in defaults:
            required.append(name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"aurora/{record.schema_name}.v{record.schema_version}.json",
        "title": record.schema_name,
        "description": record.description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def schema_path(record: type[Event]) -> Path:
    return SCHEMA_DIR / f"{record.schema_name}.v{record.schema_version}.json"


@cache
def _validator(record: type[Event]) -> Any:
    return fastjsonschema.compile(orjson.loads(schema_path(record).read_bytes()))


def decode(record: type[E], data: bytes | None) -> E:
    """Parse and validate wire bytes into a record, or raise InvalidEvent with the reason."""
    if data is None:
        raise InvalidEvent("empty message (no value)")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(obj).__name__}")
    try:
        _validator(record)(obj)
    except fastjsonschema.JsonSchemaException as exc:
        raise InvalidEvent(f"{record.schema_name} schema: {_safe_reason(exc.message)}") from None
    obj.pop("v")
    event = record(**obj)
    why = event.invariant()
    if why is not None:
        raise InvalidEvent(f"{record.schema_name}: {why}")
    return event


_UNKNOWN_PROPS = re.compile(r"must not contain \{.*\} properties", re.S)


def _safe_reason(message: str) -> str:
    """A schema error without the names of unknown properties: a raw-topic event's property
    names are data (the dead letter must not carry them)."""
    return _UNKNOWN_PROPS.sub("must not contain unknown properties", message)[:300]


def write_schemas() -> list[Path]:
    """Regenerate every schema file from the records (run after changing a record)."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    out = []
    for record in RECORDS:
        path = schema_path(record)
        path.write_bytes(orjson.dumps(json_schema(record), option=orjson.OPT_INDENT_2) + b"\n")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_schemas():
        print(p)
