"""Seals on recommendations: a correction may only refer to a recommendation this
deployment issued, to that user, exactly as it was issued.

Every recommendation event carries ``seal``, an HMAC-SHA256 (keyed by a key derived from
the state-signing key every worker shares) over the fields learning relies on: ids, user,
the chosen triple, layer and provenance, model version and the fingerprint (through its
key). The learn agent recomputes it on the echo a correction carries: a made-up
recommendation, one of another user, or an echo whose fingerprint or labels were edited
is refused before anything learns from it, with no lookup and no stored copy.

>>> k = seal_key(b"k" * 32)
>>> rec = {"recommendation_id": "r", "dataset_id": "d", "user_id": "ann", "column": 0,
...        "feature_type": "url", "transformation": "drop", "imputation": "none",
...        "layer": "L2-symbolic-rule", "provenance": "R-url-01", "model_version": "prior-v1",
...        "fingerprint": {"url_frac": 1.0}}
>>> rec["fingerprint_key"] = __import__("aurora_stream.profile.fingerprint",
...     fromlist=["x"]).fingerprint_key(rec["fingerprint"])
>>> rec["seal"] = seal(k, rec)
>>> check(k, rec) is None, check(k, {**rec, "user_id": "bob"})
(True, 'the echoed recommendation was not issued to this user as echoed (seal mismatch)')
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from aurora_stream.profile.fingerprint import fingerprint_key

SEALED = ("recommendation_id", "dataset_id", "user_id", "column", "feature_type",
          "transformation", "imputation", "layer", "provenance", "model_version",
          "fingerprint_key")
MAX_FINGERPRINT_KEYS = 256


def seal_key(state_key: bytes) -> bytes:
    """The sealing key, derived from the state-signing key (never the same bytes)."""
    return hmac.new(state_key, b"aurora recommendation seal v1", hashlib.sha256).digest()


def seal(key: bytes, rec: Mapping[str, Any]) -> str:
    payload = "\x1f".join(str(rec[f]) for f in SEALED)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def check(key: bytes, echo: Mapping[str, Any]) -> str | None:
    """``None`` when ``echo`` is a recommendation issued as it is; else why not."""
    fp = echo.get("fingerprint")
    if not isinstance(fp, dict) or len(fp) > MAX_FINGERPRINT_KEYS:
        return f"the echoed fingerprint is not an object of at most {MAX_FINGERPRINT_KEYS} keys"
    if any(f not in echo for f in SEALED) or not isinstance(echo.get("seal"), str):
        return "the echoed recommendation has no seal (not issued by this deployment)"
    try:
        if fingerprint_key({str(k): float(v) for k, v in fp.items()}) != echo["fingerprint_key"]:
            return "the echoed fingerprint was changed (it does not match its key)"
    except (TypeError, ValueError):
        return "the echoed fingerprint holds non-numeric values"
    if not hmac.compare_digest(seal(key, echo), echo["seal"]):
        return "the echoed recommendation was not issued to this user as echoed (seal mismatch)"
    return None
