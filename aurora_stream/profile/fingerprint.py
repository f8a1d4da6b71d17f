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
"""Hand-written core of the fixed vocabulary of column-name tokens (synonyms map onto
these); ``NAME_FLAGS`` below adds ``LEARNED_FLAGS``."""

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
    # things people count: small non-negative integers that are quantities, not categories
    "siblings": "count", "sibsp": "count", "parch": "count", "children": "count",
    "kids": "count", "goals": "count", "beds": "count", "bedrooms": "count",
    "bathrooms": "count", "baths": "count", "rooms": "count", "visits": "count",
    "wins": "count", "losses": "count", "assists": "count", "guests": "count",
}  # fmt: skip
CORE_FLAGS = NAME_FLAGS
_SUBWORDS = tuple(w for w in CORE_FLAGS if len(w) >= 4)  # found inside compounds ("birthdate")
LEARNED_FLAGS: tuple[str, ...] = (  # 288 tokens, training/name_vocab.py
    "acceleration", "acct", "act", "activity", "actual", "add", "alt", "alter", "and",
    "animal", "app", "area", "assess", "asset", "assets", "at", "author", "balls", "base",
    "birth", "bldg", "bldgs", "block", "boro", "borough", "breed", "bsmt", "building",
    "built", "bus", "cap", "cb", "cd", "census", "change", "classification", "close",
    "closed", "codes", "comm", "command", "comp", "company", "concept", "condo",
    "constructor", "contrib", "coord", "coordinate", "council", "countries", "covered",
    "created", "currency", "current", "data", "daynum", "days", "dc", "de", "deductibility",
    "definition", "depth", "desig", "dist", "distance", "district", "driver", "dropoff",
    "duration", "easements", "education", "ein", "employees", "end", "et", "event",
    "exempt", "existing", "expectancy", "expenditure", "ext", "facil", "family", "far",
    "feedback", "feedrate", "field", "filing", "fire", "first", "fiscal", "floors", "flows",
    "fname", "footnotes", "for", "foundation", "from", "front", "geo", "gross", "group",
    "growth", "happiness", "headline", "health", "high", "home", "how", "ibc", "ico",
    "image", "in", "income", "index", "indicator", "industry", "inertia", "installs",
    "interest", "issue", "item", "job", "kw", "kwh", "label", "labels", "land", "lang",
    "language", "last", "level", "life", "loan", "local", "location", "lot", "low",
    "lscore", "ltd", "machining", "main", "major", "male", "map", "market", "measure",
    "median", "member", "members", "method", "metric", "mkt", "neighborhood", "net", "node",
    "non", "ntee", "of", "offense", "office", "offset", "old", "open", "or", "order",
    "organization", "other", "outcome", "output", "overlay", "owner", "paid", "panels",
    "pd", "per", "period", "pf", "pickup", "pluto", "points", "police", "population",
    "position", "post", "power", "prct", "precinct", "process", "product", "program",
    "project", "provider", "prox", "publish", "purchase", "qualified", "race", "rank",
    "rating", "realtime", "reason", "record", "reference", "report", "req", "res", "resid",
    "residual", "retail", "revenue", "review", "reviews", "ruc", "ruling", "runs", "sale",
    "sales", "sanborn", "sanit", "school", "season", "sec", "second", "sector", "sentence",
    "sequence", "series", "service", "services", "short", "site", "sna", "soc", "sort",
    "source", "sp", "special", "speed", "start", "store", "strge", "style", "sub",
    "subsection", "summary", "sunlight", "symbol", "system", "table", "tax", "team", "temp",
    "term", "the", "theme", "to", "topic", "tot", "tract", "trip", "trips", "tweet", "unit",
    "units", "unnamed", "until", "updated", "use", "user", "valid", "valuation", "value",
    "velocity", "venue", "voltage", "volume", "water", "web", "website", "wloc", "work",
    "wteam", "yearly", "years", "zm", "zone",
)  # fmt: skip
NAME_FLAGS = CORE_FLAGS + tuple(t for t in LEARNED_FLAGS if t not in CORE_FLAGS)
_VOCAB = frozenset(NAME_FLAGS)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z]+")

def name_tokens(name: str) -> list[str]:
    """The lower-cased word tokens of a name (camelCase, snake_case, spaces, digits split),
    synonyms mapped onto their vocabulary word. Used to match, never stored."""
    out = []
    for raw in _SPLIT.split(_CAMEL.sub(" ", name)):
        token = raw.lower()
        if token:
            out.append(_SYNONYMS.get(token, token))
    return out


def name_flags(name: str) -> tuple[str, ...]:
    """Vocabulary tokens found in a column name (camelCase, snake_case, spaces, digits).

    Only tokens of ``NAME_FLAGS`` (core first, then the learned tokens) come back, in
    vocabulary order, each once; compounds ("birthdate") match core words only.
    """
    found: set[str] = set()
    for token in name_tokens(name):
        if token in _VOCAB:
            found.add(token)
        elif len(token) > 4:
            found.update(w for w in _SUBWORDS if token.startswith(w) or token.endswith(w))
    return tuple(w for w in NAME_FLAGS if w in found)


def known_flags(flags: Sequence[str]) -> list[str]:
    """The flags of ``NAME_FLAGS`` among ``flags`` (vocabulary order, each once): what a
    column-chunk from outside (edge mode) may carry on past the profile stage, where a
    name fragment or any other text must not go.

    >>> known_flags(["zip", "SECRET-name", "id", "zip"])
    ['id', 'zip']
    """
    given = set(flags)
    return [w for w in NAME_FLAGS if w in given]


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
