"""What the CLI keeps about a published dataset in AURORA_HOME, without names or values.

Column names are stored only as salted hashes (salt per dataset), enough to turn
``aurora correct DATASET price`` into a column position; recommendations are stored as
received (they carry statistics only), so a correction finds them after a restart.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import orjson

from aurora_stream.wire.records import Recommendation


def _dir(home: Path) -> Path:
    d = home / "datasets"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def _name_hash(salt: str, name: str) -> str:
    return hashlib.blake2b(name.strip().casefold().encode(), key=bytes.fromhex(salt),
                           digest_size=16).hexdigest()


def _write(path: Path, doc: dict) -> None:
    """Atomically (a unique temporary file, then rename): concurrent writers never leave
    half a document, and never share a temporary file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(doc))
    os.replace(tmp, path)


def remember_dataset(home: Path, dataset_id: str, user_id: str, columns: list[str]) -> None:
    """Record a published dataset's column positions under salted name hashes."""
    salt = secrets.token_hex(16)
    doc = {"dataset_id": dataset_id, "user_id": user_id, "salt": salt, "n_columns": len(columns),
           "columns": {_name_hash(salt, c): i for i, c in enumerate(columns)},
           "recommendations": {}}
    _write(_dir(home) / f"{_safe(dataset_id)}.json", doc)


def remember_recommendations(home: Path, recs: list[Recommendation]) -> None:
    """Store received recommendations (statistics only) next to their dataset."""
    by_ds: dict[str, list[Recommendation]] = {}
    for r in recs:
        by_ds.setdefault(r.dataset_id, []).append(r)
    for ds, items in by_ds.items():
        path = _dir(home) / f"{_safe(ds)}.json"
        doc = orjson.loads(path.read_bytes()) if path.exists() else {
            "dataset_id": ds, "user_id": items[0].user_id, "salt": secrets.token_hex(16),
            "n_columns": items[0].n_columns, "columns": {}, "recommendations": {}}
        for r in items:
            doc["recommendations"][str(r.column)] = r.asdict()
        _write(path, doc)


def load_dataset(home: Path, dataset_id: str) -> dict | None:
    path = _dir(home) / f"{_safe(dataset_id)}.json"
    return orjson.loads(path.read_bytes()) if path.exists() else None


def column_position(doc: dict, column: str) -> int:
    """A column given as a position (``3``, ``#3``) or by its name (matched by hash)."""
    text = column.lstrip("#")
    if text.isdigit() and int(text) < int(doc["n_columns"]):
        by_name = doc["columns"].get(_name_hash(doc["salt"], column))
        return by_name if by_name is not None else int(text)
    pos = doc["columns"].get(_name_hash(doc["salt"], column))
    if pos is None:
        raise KeyError(f"no column {column!r} in dataset {doc['dataset_id']}")
    return int(pos)


def stored_recommendation(doc: dict, position: int) -> Recommendation | None:
    data = doc["recommendations"].get(str(position))
    return Recommendation(**data) if data else None


def _safe(dataset_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset_id)
