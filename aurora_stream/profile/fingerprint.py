"""Fingerprints: the coarse, value-free and name-free features River models learn from.

``fingerprint`` buckets every known ProfileView field as its row of ``profile/fields.py``
says (fractions to tenths, counts and magnitudes to half- or quarter-decades on a log
scale) and adds one indicator per column-name flag.
Bucketing makes two columns with slightly different statistics share a fingerprint (and
so an L0 cache entry) and keeps exact statistics out of learned state. Column names are
reduced by ``name_flags`` to tokens of the fixed ``NAME_FLAGS`` vocabulary; the name
itself is never returned.

>>> name_flags("customerZipCode2"), name_flags("Is_Active")
(('code', 'zip'), ('is',))
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

import orjson

from aurora_stream.profile.fields import FIELDS
from aurora_stream.profile.view import ProfileView

NAME_FLAGS: tuple[str, ...] = (
    "id", "key", "code", "uuid", "date", "time", "year", "month", "day", "week", "hour",
    "zip", "postal", "url", "link", "email", "phone", "name", "title", "description",
    "comment", "text", "address", "city", "country", "state", "region", "lat", "lon",
    "price", "amount", "cost", "salary", "count", "age", "rate", "pct", "score", "flag",
    "is", "has", "type", "category", "class", "status", "gender", "number", "tags", "list",
    "size", "weight", "height", "length", "total", "avg", "min", "max",
)  # fmt: skip
"""Fixed vocabulary of column-name tokens (synonyms map onto these)."""

_SYNONYMS = {
    "identifier": "id", "uid": "id", "guid": "uuid", "dt": "date", "datetime": "date",
    "timestamp": "time", "ts": "time", "yr": "year", "zipcode": "zip", "postcode": "postal",
    "uri": "url", "href": "link", "mail": "email", "tel": "phone", "telephone": "phone",
    "mobile": "phone", "desc": "description", "comments": "comment", "notes": "comment",
    "note": "comment", "addr": "address", "street": "address", "latitude": "lat",
    "lng": "lon", "long": "lon", "longitude": "lon", "cnt": "count", "qty": "count",
    "quantity": "count", "percent": "pct", "percentage": "pct", "ratio": "rate",
    "categories": "category", "cat": "category", "sex": "gender", "no": "number",
    "num": "number", "nbr": "number", "nr": "number", "tag": "tags", "names": "name",
    "dates": "date", "prices": "price", "amt": "amount", "average": "avg", "mean": "avg",
}  # fmt: skip
_VOCAB = frozenset(NAME_FLAGS)
_SUBWORDS = tuple(w for w in NAME_FLAGS if len(w) >= 4)  # found inside compounds ("birthdate")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z]+")

def name_flags(name: str) -> tuple[str, ...]:
    """Vocabulary tokens found in a column name (camelCase, snake_case, spaces, digits).

    Only tokens of ``NAME_FLAGS`` come back, in vocabulary order, each once.
    """
    found: set[str] = set()
    for raw in _SPLIT.split(_CAMEL.sub(" ", name)):
        token = raw.lower()
        if not token:
            continue
        token = _SYNONYMS.get(token, token)
        if token in _VOCAB:
            found.add(token)
        elif len(token) > 4:
            found.update(w for w in _SUBWORDS if token.startswith(w) or token.endswith(w))
    return tuple(w for w in NAME_FLAGS if w in found)


def fingerprint(view: ProfileView, flags: Sequence[str] = ()) -> dict[str, float]:
    """Coarse learning features of a column: bucketed view fields plus ``flag:<token>``.

    Missing view fields are left out. Flags outside ``NAME_FLAGS`` are ignored, so a raw
    name passed by mistake cannot leak into learned state. Deterministic.
    """
    fp: dict[str, float] = {}
    for key, value in view.to_dict().items():
        if not math.isfinite(value):
            continue
        fp[key] = bucket(FIELDS[key].bucket, value)
    for flag in flags:
        if flag in _VOCAB:
            fp[f"flag:{flag}"] = 1.0
    return fp


def fingerprint_key(fp: dict[str, float]) -> str:
    """Stable short hash of a fingerprint (blake2b of its sorted items), for the L0 cache."""
    payload = orjson.dumps(sorted(fp.items()))
    return hashlib.blake2b(payload, digest_size=12).hexdigest()


def bucket(kind: str, value: float) -> float:
    """The fingerprint bucket of one value of a field of ``kind`` (``fields.Field.bucket``).

    >>> bucket("fraction", 0.97), bucket("count", 1234.0), bucket("signed", -250.0)
    (0.95, 3.0, -2.5)
    """
    if kind == "fraction":
        return bucket_fraction(value)
    if kind == "count":
        return _bucket_log(value)
    if kind == "signed":
        return math.copysign(_bucket_log(abs(value), steps=4), value) if value else 0.0
    if kind == "clamp":
        return float(max(-10, min(10, round(value))))
    if kind == "per_value":
        return _bucket_log(value, base=2.0)
    raise ValueError(f"unknown bucket kind {kind!r}")


def bucket_fraction(v: float, snap: float = 0.0) -> float:
    """Tenths, keeping exact 0 and 1 apart from 'almost' (0.05 and 0.95); values within
    ``snap`` of 0 or 1 count as exact (for noised values, see privacy/dp.py)."""
    if v <= snap:
        return 0.0
    if v >= 1.0 - snap:
        return 1.0
    return min(max(round(v * 10.0) / 10.0, 0.05), 0.95)


def _bucket_log(v: float, base: float = 10.0, steps: int = 2) -> float:
    """log_base(1 + v) rounded to 1/steps (half-decades by default); v >= 0."""
    return round(steps * math.log1p(max(v, 0.0)) / math.log(base)) / steps
