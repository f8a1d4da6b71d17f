"""Chunk accounting never drops data silently: redeliveries are ignored, another file under
a used dataset id is refused with a reason, a re-published identical file is answered again,
and columns whose chunks stop coming time out with the missing chunks named."""

from __future__ import annotations

import base64

import polars as pl
import pytest

from aurora_stream.profile.progress import ColumnProgress, ColumnRefused
from aurora_stream.profile.sketch import sketch_frame


def chunk(values: list[str]) -> tuple[str, object]:
    sk = sketch_frame(pl.DataFrame({"v": values}))[0]
    return base64.b64encode(sk.to_bytes()).decode(), sk


def feed(p: ColumnProgress, seq: int, values: list[str], last: bool = False) -> str:
    b64, sk = chunk(values)
    return p.add(seq, b64, sk, last=last, rows_rejected=0, now=100.0 + seq)


def test_a_redelivered_chunk_is_ignored_and_the_file_completes() -> None:
    p = ColumnProgress()
    assert feed(p, 0, ["a", "b"]) == "merged"
    assert feed(p, 0, ["a", "b"]) == "duplicate"
    assert feed(p, 1, ["c"], last=True) == "complete"
    assert p.acc.sketch.view().count == 3


def test_another_file_under_a_used_dataset_id_is_refused_not_dropped() -> None:
    p = ColumnProgress()
    feed(p, 0, ["a"])
    with pytest.raises(ColumnRefused, match="different data"):
        feed(p, 0, ["x"])  # same seq, other data, while the first file is in flight
    done = ColumnProgress()
    feed(done, 0, ["a"], last=True)
    done.finish('{"profile": 1}')
    with pytest.raises(ColumnRefused, match="already completed"):
        feed(done, 1, ["z"])  # a longer file re-using the id
    with pytest.raises(ColumnRefused, match="different data"):
        feed(done, 0, ["other"], last=True)


def test_the_same_file_published_again_is_answered_again() -> None:
    p = ColumnProgress()
    feed(p, 0, ["a"])
    feed(p, 1, ["b"], last=True)
    p.finish('{"profile": 1}')
    back = ColumnProgress.from_json(p.to_json())
    assert feed(back, 0, ["a"]) == "duplicate"
    assert feed(back, 1, ["b"], last=True) == "resend" and back.profile == '{"profile": 1}'


def test_two_last_markers_refuse_the_column() -> None:
    p = ColumnProgress()
    feed(p, 0, ["a"], last=True)
    with pytest.raises(ColumnRefused, match="disagree"):
        feed(p, 1, ["b"], last=True)
    assert ColumnProgress.from_json(p.to_json()).failed


def test_a_column_waiting_for_chunks_that_never_come_times_out_naming_them() -> None:
    p = ColumnProgress()
    feed(p, 5, ["a"])
    feed(p, 2, ["b"])
    assert not p.stale(now=110.0, timeout=600) and p.stale(now=1000.0, timeout=600)
    assert p.missing() == "0-1, 3-4, the last chunk (after 5)"
    reason = p.time_out(600)
    assert "0-1, 3-4" in reason and "600s" in reason and p.done and p.failed
    with pytest.raises(ColumnRefused, match="refused"):
        feed(p, 0, ["c"])


@pytest.mark.timeout(10)
@pytest.mark.parametrize("seq", [2**63 - 1, 10**12])
def test_a_huge_last_seq_times_out_at_once_naming_its_gap(seq: int) -> None:
    """The sweep names the missing chunks on the worker's event loop: it must cost what
    was seen, not the seq a publisher wrote (a signed chunk at 2**63 - 1 with last=true
    stopped every agent of the worker: the gap was walked one seq at a time)."""
    import time

    p = ColumnProgress()
    feed(p, seq, ["a"], last=True)
    feed(p, 3, ["b"])
    t0 = time.perf_counter()
    reason = p.time_out(600)
    assert time.perf_counter() - t0 < 0.5
    assert f"chunks 0-2, 4-{seq - 1} never arrived" in reason


def test_state_of_release_0_1_0_is_read() -> None:
    assert ColumnProgress.from_json("done").done
    b64, sk = chunk(["a"])
    assert ColumnProgress.from_json("done").add(0, b64, sk, last=True, rows_rejected=0,
                                                now=1.0) == "duplicate"
