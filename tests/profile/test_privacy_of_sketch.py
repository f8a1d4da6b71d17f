"""Canary audit of the profile stage: planted values appear in no sketch byte, no view
repr and no fingerprint; planted column names appear in no fingerprint."""

from __future__ import annotations

import orjson
import polars as pl

from aurora_stream.profile.accumulate import ColumnAccumulator
from aurora_stream.profile.fingerprint import fingerprint, fingerprint_key, name_flags
from aurora_stream.profile.sketch import ColumnSketch, sketch_frame

CANARY_STRINGS = ["zqxcanary7f3a", "canary.bird@zqx-mail.example", "https://zqxcanary.example/k9"]
CANARY_NUMBERS = ["73519.8642", "918273645", "-4410.0937"]
CANARY_NAME = "zqxCanaryColumnName"


def _needles() -> list[bytes]:
    out = [s.encode() for s in CANARY_STRINGS + CANARY_NUMBERS + [CANARY_NAME]]
    out += [CANARY_NAME.lower().encode(), b"zqx", b"73519", b"918273", b"4410.09"]
    return out


def _column() -> list[str | None]:
    filler = [str(x) for x in range(1, 40)] + ["alpha", "beta", None]
    return filler + CANARY_STRINGS + CANARY_NUMBERS


def _assert_clean(blob: bytes, where: str) -> None:
    for needle in _needles():
        assert needle not in blob, f"{needle!r} found in {where}"


def test_canaries_appear_nowhere_in_sketch_bytes_view_or_fingerprint():
    frame = pl.DataFrame({CANARY_NAME: _column()}, schema={CANARY_NAME: pl.Utf8})
    sketch = sketch_frame(frame)[0]
    acc = ColumnAccumulator()
    acc.add(0, sketch, last=True)
    view = acc.sketch.view()
    fp = fingerprint(view, name_flags(CANARY_NAME))
    _assert_clean(sketch.to_bytes(), "sketch bytes")
    _assert_clean(acc.to_bytes(), "accumulator bytes")
    _assert_clean(repr(view).encode(), "view repr")
    _assert_clean(repr(sketch).encode(), "sketch repr")
    _assert_clean(orjson.dumps(fp), "fingerprint")
    _assert_clean(fingerprint_key(fp).encode(), "fingerprint key")


def test_a_lone_canary_number_is_coarsened_in_the_view():
    """Single-row caveat: the exact moments keep the value in the sketch bytes (as an
    aggregate), but the view and fingerprint only ever show 3 significant digits."""
    sketch = ColumnSketch()
    sketch.update(pl.Series("v", ["73519.8642"]))
    view = sketch.view()
    assert view.mean == 73500.0 and view.max == 73500.0
    assert b"73519" not in repr(view).encode()
    assert b"73519" not in orjson.dumps(fingerprint(view))


def test_a_raw_name_passed_as_flag_is_ignored_by_fingerprint():
    fp = fingerprint(sketch_frame(pl.DataFrame({"v": ["1"]}))[0].view(), [CANARY_NAME, "id"])
    assert "flag:id" in fp
    assert not any(CANARY_NAME.lower() in k.lower() for k in fp)
